"""The ``bwestimators`` command: the demo, fitting a user's table, power sweeps.

Built on :mod:`argparse` (standard library: no extra dependency, sub-commands,
``--help`` with every default).
"""

import argparse
import difflib
import sys
import time
import warnings
from pathlib import Path

from bwestimators import __version__
from bwestimators._bayes import LIKELIHOODS

METHODS = ("bayes", "lme", "anova")


class UserError(Exception):
    """A mistake in the command line or the data: reported as one line, exit code 2."""


def _progress(message):
    print(message, file=sys.stderr, flush=True)


def _sampler_settings(quick):
    if quick:
        return {"num_warmup": 300, "num_samples": 300, "num_chains": 2}
    return {"num_warmup": 500, "num_samples": 1000, "num_chains": 4}


def _make(method, spec, dist_y, seed, quick):
    from bwestimators import AnovaComparator, HierarchicalSlopeRegressor, LMEComparator

    if method == "bayes":
        return HierarchicalSlopeRegressor(
            spec, dist_y=dist_y, random_state=seed, progress_bar=True, **_sampler_settings(quick)
        )
    if method == "lme":
        return LMEComparator(spec)
    return AnovaComparator(spec)


def _verdict(method, row):
    lo, hi = row["lower"], row["upper"]
    if method == "bayes":
        if lo > 0 or hi < 0:
            return f"effect {'>' if lo > 0 else '<'} 0: 94% HDI excludes 0"
        return "no clear effect: 94% HDI includes 0"
    if row["p_value"] < 0.05:
        return f"significant (p = {row['p_value']:.2g})"
    return f"not significant (p = {row['p_value']:.2g})"


def _fit_all(df, y_name, spec, methods, dist_y, seed, quick, out):
    """Fit each method, print the tables side by side, write CSVs and figures."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import pandas as pd

    from bwestimators.display import DataDisplay, PosteriorSlopeDisplay

    y = df[y_name]
    fitted, rows = {}, []
    for method in methods:
        est = _make(method, spec, dist_y, seed, quick)
        label = type(est).__name__
        _progress(f"fitting {label} ...")
        t0 = time.perf_counter()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            est.fit(df, y)
        for w in {str(w.message) for w in caught}:
            _progress(f"  warning: {w}")
        _progress(f"  done in {time.perf_counter() - t0:.1f} s")
        fitted[method] = est
        effects = est.effects_
        effects.to_csv(out / f"effects_{method}.csv", index=False)
        for _, row in effects.iterrows():
            rows.append({"method": method, **row.to_dict(), "verdict": _verdict(method, row)})
    table = pd.DataFrame(rows)
    keep = [c for c in table.columns if c not in ("ess_tail", "sd", "z", "t", "std_err")]
    with pd.option_context("display.width", 160, "display.max_columns", 20):
        print(table[keep].to_string(index=False, float_format=lambda v: f"{v:.4g}"))
    table.to_csv(out / "effects_all.csv", index=False)
    fig, axes = plt.subplots(
        1,
        len(fitted),
        figsize=(4.2 * len(fitted), 4),
        sharey=True,
        squeeze=False,
        layout="constrained",
    )
    for ax, est in zip(axes[0], fitted.values(), strict=True):
        PosteriorSlopeDisplay.from_estimator(est, df, y, ax=ax, kind="density")
        ax.set_title(type(est).__name__, fontsize="medium")
    fig.savefig(out / "slopes.png", dpi=90)
    detail = spec.detail
    col = spec.group if spec.group is not None else None
    data = DataDisplay.from_data(
        df, spec.treatment, y_name, detail=detail, col=col, col_wrap=5 if col else None
    )
    data.figure_.savefig(out / "data.png", dpi=80)
    plt.close("all")
    _progress(f"wrote {out}/effects_*.csv, slopes.png, data.png")
    return fitted


def _demo(args):
    from bwestimators import ColumnSpec
    from bwestimators.datasets import generate_fake_lfp

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    df = generate_fake_lfp(
        mouse_response_slope=9, n_trials=10 if args.quick else 30, random_state=args.seed
    ).df
    df.to_csv(out / "lfp_data.csv", index=False)
    _progress(
        f"Fake LFP power: {len(df)} trials of {df['mouse'].nunique()} mice. "
        "Does stimulation ('stim') change 'Log power'? Mouse is the group."
    )
    spec = ColumnSpec("stim", group="mouse", detail="i_trial")
    _fit_all(df, "Log power", spec, METHODS, "normal", args.seed, args.quick, out)
    return 0


def _read_table(path):
    import pandas as pd

    path = Path(path)
    if not path.exists():
        raise UserError(f"no such file: {path}")
    if path.suffix.lower() in (".parquet", ".pq"):
        return pd.read_parquet(path)
    return pd.read_csv(path)


def _check_column(df, name, option):
    if name not in df.columns:
        close = difflib.get_close_matches(name, [str(c) for c in df.columns], n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise UserError(f"{option} {name!r} is not a column of the data{hint}")


def _fit(args):
    from bwestimators import ColumnSpec

    df = _read_table(args.data)
    for option, value in (
        ("--y", args.y),
        ("--treatment", args.treatment),
        ("--group", args.group),
        ("--group2", args.group2),
        ("--detail", args.detail),
    ):
        if value is not None:
            _check_column(df, value, option)
    for c in args.condition or []:
        _check_column(df, c, "--condition")
    n_missing = int(df[args.y].isna().sum())
    if n_missing:
        raise UserError(f"--y {args.y!r} has {n_missing} missing value(s) (NaN); drop those rows")
    condition = args.condition if args.condition else None
    if condition is not None and len(condition) == 1:
        condition = condition[0]
    spec = ColumnSpec(
        args.treatment,
        condition=condition,
        group=args.group,
        group2=args.group2,
        detail=args.detail,
    )
    methods = METHODS if args.method == "all" else (args.method,)
    if args.group is None and any(m in ("lme",) for m in methods):
        raise UserError("--group is needed by the LME (e.g. --group mouse); or use --method anova")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    _fit_all(df, args.y, spec, methods, args.dist_y, args.seed, args.quick, out)
    return 0


def _power(args):
    """The ``bwestimators power`` command (see ``bwestimators power --help``)."""
    import tomllib

    import matplotlib

    matplotlib.use("Agg")
    from bwestimators import ColumnSpec
    from bwestimators.datasets import generate_fake_lfp
    from bwestimators.display.power import PowerCurveDisplay, PowerRocDisplay
    from bwestimators.power import SWEEP_SAMPLER, PowerSimulation, power_table

    grid = {"mouse_response_slope": args.effects, "n_trials": args.n_trials, "n_mice": args.n_mice}
    settings = {"repeats": args.repeats, "alpha": args.alpha}
    if args.config:
        path = Path(args.config)
        if not path.exists():
            raise FileNotFoundError(f"no such config file: {path}")
        config = tomllib.loads(path.read_text())
        grid.update(config.get("grid", {}))
        settings.update({k: v for k, v in config.items() if k != "grid"})
    spec = ColumnSpec("stim", group="mouse")
    estimators = {m: _make(m, None, "normal", args.seed, args.quick) for m in args.methods}
    if "bayes" in estimators:
        estimators["bayes"].set_params(progress_bar=False)
        if not args.quick:
            estimators["bayes"].set_params(**SWEEP_SAMPLER)
    sim = PowerSimulation(
        generate_fake_lfp,
        estimators,
        y="Log power",
        spec=spec,
        param_grid=grid,
        n_repeats=int(settings["repeats"]),
        alpha=float(settings["alpha"]),
        n_jobs=args.n_jobs,
        random_state=args.seed,
        batch_size=args.batch_size,
    )
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    _progress(f"power sweep: {len(sim._tasks())} datasets x {len(estimators)} estimators")
    results = sim.run(checkpoint=args.checkpoint)
    results.to_csv(out / "power_results.csv", index=False)
    table = power_table(results)
    table.to_csv(out / "power_table.csv", index=False)
    print(table.to_string(index=False, float_format=lambda v: f"{v:.3g}"))
    PowerCurveDisplay.from_results(results).figure_.savefig(out / "power_curves.png", dpi=90)
    if results["true_effect"].eq(0).any() and results["true_effect"].gt(0).any():
        PowerRocDisplay.from_results(results).figure_.savefig(out / "roc.png", dpi=90)
    _progress(f"wrote {out}/power_results.csv, power_table.csv and figures")
    return 0


def build_parser():
    """The argument parser of the ``bwestimators`` command."""
    fmt = argparse.ArgumentDefaultsHelpFormatter
    parser = argparse.ArgumentParser(
        prog="bwestimators",
        description="Treatment effects in nested experimental data.",
        formatter_class=fmt,
    )
    parser.add_argument("--version", action="version", version=f"bwestimators {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    demo = sub.add_parser(
        "demo", help="fit the example LFP data with every estimator", formatter_class=fmt
    )
    demo.add_argument("--out", default="bwestimators-demo", help="folder for figures and tables")
    demo.add_argument("--quick", action="store_true", help="smaller data and fewer draws")
    demo.add_argument("--seed", type=int, default=0, help="random seed")
    demo.set_defaults(func=_demo)

    fit = sub.add_parser("fit", help="fit a table of trials (CSV or Parquet)", formatter_class=fmt)
    fit.add_argument("data", help="CSV or Parquet file, one row per observation")
    fit.add_argument("--y", required=True, help="outcome column")
    fit.add_argument("--treatment", required=True, help="treatment column")
    fit.add_argument("--condition", nargs="+", default=None, help="condition column(s)")
    fit.add_argument("--group", default=None, help="group column (e.g. mouse)")
    fit.add_argument("--group2", default=None, help="second grouping column (e.g. session)")
    fit.add_argument("--detail", default=None, help="trial column, to pair treatment levels")
    fit.add_argument(
        "--method", choices=[*METHODS, "all"], default="all", help="which estimator(s)"
    )
    fit.add_argument(
        "--dist-y",
        default="normal",
        dest="dist_y",
        choices=LIKELIHOODS,
        help="likelihood of the Bayesian model",
    )
    fit.add_argument("--out", default="bwestimators-fit", help="folder for figures and tables")
    fit.add_argument("--seed", type=int, default=0, help="random seed")
    fit.add_argument("--quick", action="store_true", help="fewer draws")
    fit.set_defaults(func=_fit)

    power = sub.add_parser(
        "power", help="simulation-based power sweep on fake LFP data", formatter_class=fmt
    )
    power.add_argument(
        "--config",
        default=None,
        help="TOML file with [grid] lists and settings; options override it",
    )
    power.add_argument(
        "--effects",
        type=float,
        nargs="+",
        default=[0.0, 2.0, 5.0, 9.0],
        help="true effects (mouse_response_slope)",
    )
    power.add_argument(
        "--n-trials",
        type=int,
        nargs="+",
        default=[10],
        dest="n_trials",
        help="trials per mouse and level",
    )
    power.add_argument("--n-mice", type=int, nargs="+", default=[10], dest="n_mice", help="mice")
    power.add_argument("--repeats", type=int, default=20, help="datasets per grid point")
    power.add_argument(
        "--methods", nargs="+", choices=METHODS, default=list(METHODS), help="estimators"
    )
    power.add_argument("--alpha", type=float, default=0.05, help="test level")
    power.add_argument("--n-jobs", type=int, default=1, dest="n_jobs", help="joblib workers")
    power.add_argument(
        "--batch-size",
        type=int,
        default=50,
        dest="batch_size",
        help="datasets per job; the Bayesian fits of a job are sampled in one vectorized call",
    )
    power.add_argument(
        "--checkpoint",
        default=None,
        help="CSV/Parquet file written as fits finish; rerun to resume",
    )
    power.add_argument("--out", default="bwestimators-power", help="folder for results")
    power.add_argument("--seed", type=int, default=0, help="random seed")
    power.add_argument("--quick", action="store_true", help="fewer draws per Bayesian fit")
    power.set_defaults(func=_power)
    return parser


def main(argv=None):
    """Run the command line; return the exit code.

    A user's mistake (missing file or column, bad values in the data) is one
    line on stderr and exit code 2, without a traceback.
    """
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except (UserError, ValueError, TypeError, FileNotFoundError) as exc:
        message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        print(f"bwestimators {args.command}: error: {message}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())

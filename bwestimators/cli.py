"""The ``bwestimators`` command: the demo, fitting a user's table, power sweeps.

Built on :mod:`argparse` (standard library: no extra dependency, sub-commands,
``--help`` with every default).
"""

import argparse
import difflib
import inspect
import itertools
import re
import sys
import time
from pathlib import Path

from sklearn.utils._param_validation import InvalidParameterError

from bwestimators import __version__
from bwestimators._families import LIKELIHOODS
from bwestimators._warn import capture_warnings
from bwestimators.exceptions import InputError

METHODS = ("bayes", "lme", "anova")


class UserError(InputError):
    """A mistake in the command line or the data: reported as one line, exit code 2.

    An :class:`~bwestimators.exceptions.InputError`, like the input errors the
    library raises, so one ``except InputError`` catches every mistake of the
    user and nothing else.
    """


#: What :func:`main` reports as one line with exit code 2. Every other exception
#: is a bug and propagates with its traceback. The ``OSError`` subclasses are for
#: paths the user gave (the calls that read them also raise :class:`UserError`).
USER_ERRORS = (
    InputError,
    InvalidParameterError,
    FileNotFoundError,
    IsADirectoryError,
    NotADirectoryError,
)


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
            spec,
            dist_y=dist_y,
            random_state=seed,
            # a progress bar on a terminal only: carriage returns would fill a log file
            progress_bar=sys.stderr.isatty(),
            **_sampler_settings(quick),
        )
    if method == "lme":
        return LMEComparator(spec)
    if spec is not None and spec.group is None:  # no group to average over: the rows
        return AnovaComparator(spec, aggregate=None)
    return AnovaComparator(spec)


def _fit_all(df, y_name, spec, methods, dist_y, seed, quick, out):
    """Fit each method, print the tables side by side, write CSVs and figures."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import pandas as pd

    y = df[y_name]
    fitted, rows = {}, []
    for method in methods:
        est = _make(method, spec, dist_y, seed, quick)
        label = type(est).__name__
        _progress(f"fitting {label} ...")
        t0 = time.perf_counter()
        with capture_warnings() as caught:
            est.fit(df, y)
        for w in {str(w.message) for w in caught}:
            _progress(f"  warning: {w}")
        _progress(f"  done in {time.perf_counter() - t0:.1f} s")
        fitted[method] = est
        est.effects_.to_csv(out / f"effects_{method}.csv", index=False)
        rows.append(est.summary().assign(method=method))
    table = pd.concat(rows, ignore_index=True)
    tests = ["p_value", "prob_positive", "ess_bulk", "r_hat", "verdict"]  # after the intervals
    rest = [c for c in table.columns if c not in ("method", *tests)]
    table = table[["method", *rest, *(c for c in tests if c in table.columns)]]
    with pd.option_context("display.width", 160, "display.max_columns", 20):
        print(table.to_string(index=False, float_format=lambda v: f"{v:.4g}"))
    table.to_csv(out / "effects_all.csv", index=False)
    _figures(fitted, df, y_name, spec, out)
    plt.close("all")
    _progress(f"wrote {out}/effects_*.csv, slopes.png, data.png")
    return fitted


def _figures(fitted, df, y_name, spec, out):
    """``slopes.png`` (one panel per method, conditions in one order) and ``data.png``."""
    import matplotlib.pyplot as plt

    from bwestimators.display import DataDisplay, PosteriorSlopeDisplay
    from bwestimators.display._common import labels_of

    y = df[y_name]
    first = next(iter(fitted.values()))
    columns = first.condition_columns_
    n = len(first.effects_)
    # the conditions of every panel in one order: the first method's, by estimate, top first
    ranked = first.effects_.sort_values("estimate", ascending=False, kind="stable")
    order = labels_of(ranked if n > 12 else first.effects_, columns)
    height = min(0.2 * n + 1.6, 20.0) if n > 12 else 4.0
    width = min((4.4 if n > 12 else max(3.6, 0.45 * n + 1.6)) * len(fitted), 16.0)
    fig, axes = plt.subplots(
        1,
        len(fitted),
        figsize=(width, height),
        sharey=True,
        sharex=n > 12,
        squeeze=False,
        layout="constrained",
    )
    for ax, est in zip(axes[0], fitted.values(), strict=True):
        PosteriorSlopeDisplay.from_estimator(est, df, y, ax=ax, kind="density", order=order)
    fig.suptitle(f"Effect of {spec.treatment} on {y_name}", fontsize="large")
    fig.savefig(out / "slopes.png", dpi=90)
    detail = spec.detail
    col = spec.group if spec.group is not None else None
    data = DataDisplay.from_data(df, spec.treatment, y_name, detail=detail, col=col)
    if col:
        line = f": a line per {detail}" if detail else ""
        data.figure_.suptitle(f"{y_name} per {col}{line}", fontsize="medium")
    data.figure_.savefig(out / "data.png", dpi=80)


def _demo(args):
    from bwestimators import ColumnSpec
    from bwestimators.datasets import generate_fake_lfp

    out = _out_dir(args.out)
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


def _first_line(exc):
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


#: The first bytes of every Parquet file.
PARQUET_MAGIC = b"PAR1"


def _is_parquet(path):
    """Whether ``path`` is a Parquet file (or a folder of them), by content, not by name."""
    if path.is_dir():
        return any(path.glob("*.parquet"))
    with path.open("rb") as file:
        return file.read(len(PARQUET_MAGIC)) == PARQUET_MAGIC


def _read_csv(path):
    """A CSV file, its separator (``,``, ``;`` or tab) and decimal mark found from its text.

    A ``.tsv`` (``.tab``) file is read with tabs. A file read as one column
    whose header holds a ``;`` or a tab is read again with that separator; in a
    ``;`` file, text columns that read as numbers with a decimal comma
    (``1,5``) are read so.
    """
    import pandas as pd

    sep = "\t" if path.suffix.lower() in (".tsv", ".tab") else ","
    df = pd.read_csv(path, sep=sep)
    header = str(df.columns[0]) if df.shape[1] == 1 else ""
    for other in (";", "\t"):
        if other != sep and other in header:
            sep = other
            df = pd.read_csv(path, sep=sep)
            between = "tabs" if sep == "\t" else repr(sep)
            _progress(f"note: {path} has {between} between columns")
            break
    if sep == ";":
        text = [c for c in df.columns if not pd.api.types.is_numeric_dtype(df[c])]
        comma = pd.read_csv(path, sep=sep, decimal=",") if text else df
        numbers = [c for c in text if _is_number_column(comma[c])]
        for c in numbers:
            df[c] = comma[c]
        if numbers:
            _progress(f"note: read {numbers} of {path} with ',' as decimal mark")
    return df


def _is_number_column(column):
    import pandas as pd

    return pd.api.types.is_numeric_dtype(column) and not pd.api.types.is_bool_dtype(column)


def _read_table(path):
    """The user's CSV or Parquet file; what cannot be read is a :class:`UserError`.

    Parquet or CSV is told by content (the ``PAR1`` magic bytes that start
    every Parquet file), not by the file name, so a Parquet file named
    ``.csv`` (or a CSV named ``.parquet``) is read as what it is.
    """
    import pandas as pd

    path = Path(path)
    if not path.exists():
        raise UserError(f"no such file: {path}")
    if path.is_dir() and not _is_parquet(path):
        raise UserError(f"{path} is a folder; pass a CSV or Parquet file")
    try:
        parquet = _is_parquet(path)
    except OSError as exc:
        raise UserError(f"cannot read {path}: {exc.strerror or exc}") from exc
    named = path.suffix.lower() in (".parquet", ".pq")
    if parquet != named and path.is_file():
        kind = "Parquet" if parquet else "not Parquet (no PAR1 magic bytes): reading it as CSV"
        _progress(f"note: {path} is {kind}, whatever its name says")
    kind = "Parquet" if parquet else "CSV"
    try:
        df = pd.read_parquet(path) if parquet else _read_csv(path)
    except ImportError as exc:  # no Parquet engine installed
        raise UserError(f"cannot read {path}: {_first_line(exc)}") from exc
    except pd.errors.EmptyDataError as exc:
        raise UserError(f"cannot read {path}: it is empty (no header line)") from exc
    except UnicodeDecodeError as exc:
        raise UserError(
            f"cannot read {path} as CSV: it is not UTF-8 text (byte {exc.object[exc.start]:#04x} "
            f"at offset {exc.start}); save it as UTF-8 (Excel: 'CSV UTF-8') or as Parquet"
        ) from exc
    except (ValueError, OSError) as exc:  # pandas' parser errors are ValueErrors
        raise UserError(f"cannot read {path} as {kind}: {_first_line(exc)}") from exc
    df.columns = [str(c) for c in df.columns]  # the command line names columns by text
    repeated = sorted(set(df.columns[df.columns.duplicated()]))
    if repeated:
        raise UserError(f"{path}: column name(s) {repeated} appear more than once; rename them")
    if df.empty:
        raise UserError(f"{path} has no data rows (columns: {list(df.columns)})")
    return df


def _out_dir(path):
    """The output folder, created; a path that cannot be one is a :class:`UserError`."""
    path = Path(path)
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UserError(f"--out {path}: cannot create the folder ({exc.strerror})") from exc
    return path


def _check_column(df, name, option):
    if name not in df.columns:
        close = difflib.get_close_matches(name, [str(c) for c in df.columns], n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise UserError(f"{option} {name!r} is not a column of the data{hint}")


def _check_roles(args):
    """Each column has one role: ``--group`` naming the ``--y`` column is a mistake."""
    roles = [
        ("--y", args.y),
        ("--treatment", args.treatment),
        *(("--condition", c) for c in args.condition or []),
        ("--group", args.group),
        ("--group2", args.group2),
        ("--detail", args.detail),
    ]
    seen = {}
    for option, name in roles:
        if name is None:
            continue
        if name in seen:
            first = seen[name]
            again = "twice" if first == option else f"also {first}"
            raise UserError(f"{option} {name!r} is {again}; give each role its own column")
        seen[name] = option
    return roles


def _check_y(df, name):
    """The ``--y`` column as numbers: text or missing values are a :class:`UserError`."""
    import pandas as pd

    y = df[name]
    if pd.api.types.is_bool_dtype(y):  # True/False: a 0/1 outcome
        return y.astype(float)
    if not _is_number_column(y):
        numbers = pd.to_numeric(y, errors="coerce")
        text = y[numbers.isna() & y.notna()]
        if len(text):
            raise UserError(
                f"--y {name!r} holds text, e.g. {text.iloc[0]!r} ({len(text)} of {len(y)} "
                "values); give a numeric column, or fix or drop those rows"
            )
        y = numbers
    n_missing = int(y.isna().sum())
    if n_missing:
        raise UserError(f"--y {name!r} has {n_missing} missing value(s) (NaN); drop those rows")
    return y


def _fit(args):
    from bwestimators import ColumnSpec

    roles = _check_roles(args)
    df = _read_table(args.data)
    for option, value in roles:
        if value is not None:
            _check_column(df, value, option)
    df[args.y] = _check_y(df, args.y)
    methods = METHODS if args.method == "all" else (args.method,)
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
    if args.group is None and any(m in ("lme",) for m in methods):
        raise UserError("--group is needed by the LME (e.g. --group mouse); or use --method anova")
    out = _out_dir(args.out)
    _fit_all(df, args.y, spec, methods, args.dist_y, args.seed, args.quick, out)
    return 0


def _read_config(path, settings):
    """The ``[grid]`` table and the settings of a ``power --config`` TOML file."""
    import tomllib

    path = Path(path)
    if not path.exists():
        raise UserError(f"no such config file: {path}")
    try:
        config = tomllib.loads(path.read_text())
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise UserError(f"cannot read config file {path}: {_first_line(exc)}") from exc
    grid = config.pop("grid", {})
    if not isinstance(grid, dict):
        raise UserError(f"{path}: 'grid' must be a table ([grid]), got {grid!r}")
    scalars = sorted(k for k, v in grid.items() if not isinstance(v, list))
    if scalars:
        raise UserError(
            f"{path}: [grid] values must be lists, e.g. n_trials = [5]; {scalars} are not"
        )
    unknown = sorted(set(config) - settings)
    if unknown:
        raise UserError(f"{path}: unknown setting(s) {unknown}; known: {sorted(settings)}")
    return grid, config


#: Built-in defaults of the ``power`` options that a ``--config`` file can also set.
POWER_DEFAULTS = {
    "effects": [0.0, 2.0, 5.0, 9.0],
    "n_trials": [10],
    "n_mice": [10],
    "repeats": 20,
    "alpha": 0.05,
}

#: The ``power`` options that set a ``[grid]`` list: option -> generate_fake_lfp parameter.
GRID_OPTIONS = {"effects": "mouse_response_slope", "n_trials": "n_trials", "n_mice": "n_mice"}


def _power_settings(args):
    """The sweep's grid and settings: the command line, else the config file, else the defaults.

    Returns
    -------
    grid : dict
        generate_fake_lfp parameter -> list of values.
    settings : dict
        ``repeats`` and ``alpha``.
    source : dict
        Grid parameter or setting -> where its value came from: the option
        (``"--repeats"``), the config file, or None for a built-in default.
    """
    from bwestimators.datasets import generate_fake_lfp

    config_grid, config = {}, {}
    if args.config:
        config_grid, config = _read_config(args.config, {"repeats", "alpha"})
    grid, settings, source = {}, {}, {}
    for option, default in POWER_DEFAULTS.items():
        key = GRID_OPTIONS.get(option, option)
        given = getattr(args, option, None)  # default=argparse.SUPPRESS: absent unless given
        from_config = config_grid if option in GRID_OPTIONS else config
        target = grid if option in GRID_OPTIONS else settings
        if given is not None:
            target[key] = given
            source[key] = f"--{option.replace('_', '-')}" + (f" ({key})" if key != option else "")
        elif key in from_config:
            target[key] = from_config[key]
            source[key] = str(args.config)
        else:
            target[key] = default
            source[key] = None
    for key, values in config_grid.items():
        if key not in grid:
            grid[key] = values
            source[key] = str(args.config)
    known = set(inspect.signature(generate_fake_lfp).parameters) - {"random_state"}
    unknown = sorted(set(grid) - known)
    if unknown:
        raise UserError(
            f"{args.config}: [grid] names {unknown}; generate_fake_lfp takes {sorted(known)}"
        )
    return grid, settings, source


def _where(*sources):
    """The start of an error message: where the values came from (None: a default)."""
    named = [s for s in dict.fromkeys(sources) if s is not None]
    return f"{', '.join(named)}: " if named else ""


def _check_power_grid(grid, source):
    """Every grid point is a valid dataset of the sweep, before any is drawn.

    Lists must not be empty; a sweep needs two or more mice (the estimators fit
    ``mouse`` as a group); every combination of values goes through the
    generator's own argument checks. The message says where the value came from.
    """
    from bwestimators.datasets._generators import _check_lfp_args, generate_fake_lfp

    for key, values in grid.items():
        if not values:
            raise UserError(f"{_where(source[key])}[grid] {key} is empty; give a value or more")
    few = [n for n in grid["n_mice"] if isinstance(n, int) and not isinstance(n, bool) and n < 2]
    if few:
        raise UserError(
            f"{_where(source['n_mice'])}n_mice must be at least 2, got {few[0]!r}: the "
            "estimators fit 'mouse' as a group, and a group effect needs two or more mice"
        )
    signature = inspect.signature(generate_fake_lfp)
    keys = list(grid)
    for values in itertools.product(*grid.values()):
        bound = signature.bind(**dict(zip(keys, values, strict=True)))
        bound.apply_defaults()
        point = {k: v for k, v in bound.arguments.items() if k != "random_state"}
        try:
            _check_lfp_args(**point)
        except InputError as exc:  # the message starts with the names of the arguments
            text = str(exc)
            named = text.split(" must ")[0]
            where = _where(*(source[k] for k in keys if re.search(rf"\b{k}\b", named)))
            raise UserError(where + text) from exc


def _power(args):
    """The ``bwestimators power`` command (see ``bwestimators power --help``)."""
    import matplotlib

    matplotlib.use("Agg")
    from bwestimators import ColumnSpec
    from bwestimators.datasets import generate_fake_lfp
    from bwestimators.display.power import PowerCurveDisplay, PowerRocDisplay
    from bwestimators.power import SWEEP_SAMPLER, PowerSimulation, power_table

    grid, settings, source = _power_settings(args)
    repeats, alpha = settings["repeats"], settings["alpha"]
    if not isinstance(repeats, int) or isinstance(repeats, bool) or repeats < 1:
        where = _where(source["repeats"])
        raise UserError(f"{where}repeats must be a positive integer, got {repeats!r}")
    if isinstance(alpha, bool) or not isinstance(alpha, int | float) or not 0 < alpha < 1:
        raise UserError(f"{_where(source['alpha'])}alpha must be a number in (0, 1), got {alpha!r}")
    _check_power_grid(grid, source)
    if args.checkpoint is not None:
        checkpoint = Path(args.checkpoint)
        folder = checkpoint.suffix.lower() == ".parquet"  # a folder of part files
        if (checkpoint.is_dir() and not folder) or not checkpoint.parent.is_dir():
            raise UserError(f"--checkpoint {checkpoint}: not a file in an existing folder")
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
        n_repeats=repeats,
        alpha=float(alpha),
        n_jobs=args.n_jobs,
        random_state=args.seed,
        batch_size=args.batch_size,
        progress=sys.stderr.isatty(),  # no carriage returns in a log file
    )
    out = _out_dir(args.out)
    _progress(
        f"power sweep: {len(sim._tasks())} datasets ({repeats} per grid point) "
        f"x {len(estimators)} estimators"
    )
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


def _positive_int(text):
    """argparse type: an integer >= 1."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text!r}")
    return value


def _seed(text):
    """argparse type: an integer >= 0 (what numpy takes as a seed)."""
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be an integer >= 0, got {text!r}")
    return value


def _builtin_default(option):
    """``(default: ...)`` for the help of an option whose default comes after ``--config``."""
    value = POWER_DEFAULTS[option]
    return f"(default: {' '.join(map(str, value)) if isinstance(value, list) else value})"


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
    demo.add_argument("--seed", type=_seed, default=0, help="random seed")
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
    fit.add_argument("--seed", type=_seed, default=0, help="random seed")
    fit.add_argument("--quick", action="store_true", help="fewer draws")
    fit.set_defaults(func=_fit)

    power = sub.add_parser(
        "power", help="simulation-based power sweep on fake LFP data", formatter_class=fmt
    )
    power.add_argument(
        "--config",
        default=None,
        help="TOML file: [grid] lists of generate_fake_lfp parameters, and repeats, alpha. "
        "Each value comes from the command line, else this file, else the built-in default",
    )
    builtin = _builtin_default
    power.add_argument(
        "--effects",
        type=float,
        nargs="+",
        default=argparse.SUPPRESS,
        help=f"true effects (mouse_response_slope) {builtin('effects')}",
    )
    power.add_argument(
        "--n-trials",
        type=int,
        nargs="+",
        default=argparse.SUPPRESS,
        dest="n_trials",
        help=f"trials per mouse and level {builtin('n_trials')}",
    )
    power.add_argument(
        "--n-mice",
        type=int,
        nargs="+",
        default=argparse.SUPPRESS,
        dest="n_mice",
        help=f"mice, 2 or more {builtin('n_mice')}",
    )
    power.add_argument(
        "--repeats",
        type=int,
        default=argparse.SUPPRESS,
        help=f"datasets per grid point {builtin('repeats')}",
    )
    power.add_argument(
        "--methods", nargs="+", choices=METHODS, default=list(METHODS), help="estimators"
    )
    power.add_argument(
        "--alpha", type=float, default=argparse.SUPPRESS, help=f"test level {builtin('alpha')}"
    )
    power.add_argument("--n-jobs", type=int, default=1, dest="n_jobs", help="joblib workers")
    power.add_argument(
        "--batch-size",
        type=_positive_int,
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
    power.add_argument("--seed", type=_seed, default=0, help="random seed")
    power.add_argument("--quick", action="store_true", help="fewer draws per Bayesian fit")
    power.set_defaults(func=_power)
    return parser


def _close_progress_bars():
    """Close the tqdm bars a failed fit left open, so that the message starts a line."""
    tqdm = getattr(sys.modules.get("tqdm"), "tqdm", None)
    for bar in list(getattr(tqdm, "_instances", ())):
        bar.close()


def main(argv=None):
    """Run the command line; return the exit code.

    Parameters
    ----------
    argv : list of str or None, default=None
        The arguments; None reads ``sys.argv``.

    Returns
    -------
    code : int
        0 on success; 2 for a user's mistake (missing file or column, bad values
        in the data: any :data:`USER_ERRORS`), reported as one line on stderr
        without a traceback.

    Notes
    -----
    Any other exception is a bug, in bwestimators or below it: it propagates
    with its traceback (exit code 1 from the ``bwestimators`` command).
    """
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except USER_ERRORS as exc:
        _close_progress_bars()
        print(f"bwestimators {args.command}: error: {_first_line(exc)}", file=sys.stderr)
        return 2
    except BaseException:
        _close_progress_bars()
        raise


if __name__ == "__main__":
    sys.exit(main())

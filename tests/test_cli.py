import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from sklearn.utils._param_validation import InvalidParameterError

from bwestimators import AnovaComparator, __version__, cli
from bwestimators.cli import build_parser
from bwestimators.datasets import generate_fake_lfp
from bwestimators.effects import verdict
from bwestimators.exceptions import InputError


def _run(*args, cwd=None):
    return subprocess.run(
        [sys.executable, "-m", "bwestimators.cli", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
    )


def test_demo_quick(tmp_path):
    out = tmp_path / "demo"
    res = _run("demo", "--quick", "--out", str(out))
    assert res.returncode == 0, res.stderr
    for name in (
        "effects_bayes.csv",
        "effects_lme.csv",
        "effects_anova.csv",
        "slopes.png",
        "data.png",
        "lfp_data.csv",
    ):
        assert (out / name).exists(), name
    assert "verdict" in res.stdout and "bayes" in res.stdout and "anova" in res.stdout
    assert "fitting HierarchicalSlopeRegressor" in res.stderr
    table = pd.read_csv(out / "effects_all.csv")
    assert list(table["method"]) == ["bayes", "lme", "anova"]
    assert "94% HDI" in table["verdict"].iloc[0]
    assert all(" 0.05)" in v for v in table["verdict"].iloc[1:])


@pytest.fixture(scope="module")
def csv(tmp_path_factory):
    df = generate_fake_lfp(mouse_response_slope=9, n_trials=5, random_state=0).df
    df = df.rename(columns={"mouse": "mouse id"})
    path = tmp_path_factory.mktemp("data") / "trials.csv"
    df.to_csv(path, index=False)
    return path


def test_fit_csv_with_spaces(csv, tmp_path):
    res = _run(
        str(csv),
        "--y",
        "Log power",
        "--treatment",
        "stim",
        "--group",
        "mouse id",
        "--method",
        "lme",
        "--out",
        str(tmp_path),
    )
    assert res.returncode == 2  # missing sub-command name: argparse usage error
    res = _run(
        "fit",
        str(csv),
        "--y",
        "Log power",
        "--treatment",
        "stim",
        "--group",
        "mouse id",
        "--method",
        "lme",
        "--out",
        str(tmp_path),
    )
    assert res.returncode == 0, res.stderr
    eff = pd.read_csv(tmp_path / "effects_lme.csv")
    assert eff["p_value"].iloc[0] < 0.05


def test_fit_parquet(csv, tmp_path):
    path = tmp_path / "trials.parquet"
    pd.read_csv(csv).to_parquet(path)
    res = _run(
        "fit",
        str(path),
        "--y",
        "Log power",
        "--treatment",
        "stim",
        "--group",
        "mouse id",
        "--method",
        "anova",
        "--out",
        str(tmp_path),
    )
    assert res.returncode == 0, res.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["fit", "nope.csv", "--y", "a", "--treatment", "b"], "no such file"),
        (["fit", "{csv}", "--y", "Log powr", "--treatment", "stim"], "did you mean 'Log power'"),
        (
            ["fit", "{csv}", "--y", "Log power", "--treatment", "stim", "--group", "mouse"],
            "did you mean 'mouse id'",
        ),
        (
            ["fit", "{csv}", "--y", "Log power", "--treatment", "stim", "--method", "lme"],
            "--group is needed",
        ),
    ],
)
def test_user_errors_are_one_line(csv, args, message, tmp_path):
    args = [a.format(csv=csv) for a in args] + ["--out", str(tmp_path)]
    res = _run(*args)
    assert res.returncode == 2
    assert message in res.stderr
    assert "Traceback" not in res.stderr
    assert len(res.stderr.strip().splitlines()) == 1


def test_nan_in_y_counts_rows(csv, tmp_path):
    df = pd.read_csv(csv)
    df.loc[[1, 4], "Log power"] = np.nan
    path = tmp_path / "nan.csv"
    df.to_csv(path, index=False)
    res = _run(
        "fit",
        str(path),
        "--y",
        "Log power",
        "--treatment",
        "stim",
        "--group",
        "mouse id",
        "--method",
        "anova",
        "--out",
        str(tmp_path),
    )
    assert res.returncode == 2 and "2 missing" in res.stderr


def test_too_few_groups(csv, tmp_path):
    df = pd.read_csv(csv)
    path = tmp_path / "one.csv"
    df[df["mouse id"] == "m0"].to_csv(path, index=False)
    res = _run(
        "fit",
        str(path),
        "--y",
        "Log power",
        "--treatment",
        "stim",
        "--group",
        "mouse id",
        "--method",
        "bayes",
        "--quick",
        "--out",
        str(tmp_path),
    )
    assert res.returncode == 2 and "single level" in res.stderr


def test_help_lists_defaults_and_version():
    parser = build_parser()
    for command in ("demo", "fit", "power"):
        sub = parser._subparsers._group_actions[0].choices[command]
        text = sub.format_help()
        assert "default" in text
    res = _run("--version")
    assert res.returncode == 0 and __version__ in res.stdout


def test_power_command_with_config_and_resume(tmp_path):
    config = tmp_path / "sweep.toml"
    config.write_text("repeats = 2\n[grid]\nmouse_response_slope = [0, 9]\nn_trials = [5]\n")
    checkpoint = tmp_path / "sweep.csv"
    args = [
        "power",
        "--config",
        str(config),
        "--methods",
        "lme",
        "anova",
        "--checkpoint",
        str(checkpoint),
        "--out",
        str(tmp_path / "out"),
    ]
    res = _run(*args)
    assert res.returncode == 0, res.stderr
    results = pd.read_csv(tmp_path / "out" / "power_results.csv")
    assert len(results) == 2 * 2 * 2  # grid points x repeats x methods
    assert (tmp_path / "out" / "power_curves.png").exists()
    assert (tmp_path / "out" / "roc.png").exists()
    again = _run(*args)  # everything is in the checkpoint: nothing to fit
    assert again.returncode == 0
    pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "out" / "power_results.csv"), results)
    missing = _run("power", "--config", str(tmp_path / "nope.toml"), "--out", str(tmp_path))
    assert missing.returncode == 2 and "no such config" in missing.stderr


# ---- in-process: user mistakes are one line and exit 2, bugs keep their traceback ----


def _fit_args(data, out, *extra, method="anova"):
    return [
        "fit",
        str(data),
        "--y",
        "Log power",
        "--treatment",
        "stim",
        "--group",
        "mouse id",
        "--method",
        method,
        "--out",
        str(out),
        *extra,
    ]


def _one_line_error(capsys, argv, message):
    assert cli.main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith(f"bwestimators {argv[0]}: error: ")
    assert message in err[-1]
    assert not any("Traceback" in line for line in err)
    return err[-1]


def _empty_file(csv, tmp_path):
    (tmp_path / "empty.csv").write_text("")
    return _fit_args(tmp_path / "empty.csv", tmp_path / "out"), "cannot read"


def _damaged_parquet(csv, tmp_path):
    (tmp_path / "t.csv").write_bytes(b"PAR1 but cut short")  # Parquet by content
    return _fit_args(tmp_path / "t.csv", tmp_path / "out"), "as Parquet"


def _out_is_a_file(csv, tmp_path):
    (tmp_path / "taken").write_text("")
    return _fit_args(csv, tmp_path / "taken"), "--out"


def _text_treatment(csv, tmp_path):
    df = pd.read_csv(csv)
    df["Log power"] = 1.5  # a constant y: the estimator's InputError, not the CLI's own check
    df.to_csv(tmp_path / "constant.csv", index=False)
    return _fit_args(tmp_path / "constant.csv", tmp_path / "out"), "y is constant"


@pytest.mark.parametrize(
    "make",
    [
        lambda csv, tmp: (_fit_args(tmp / "nope.csv", tmp), "no such file"),
        lambda csv, tmp: (_fit_args(tmp, tmp), "is a folder"),
        lambda csv, tmp: (_fit_args(csv, tmp, "--detail", "trial"), "did you mean 'i_trial'"),
        _empty_file,
        _damaged_parquet,
        _out_is_a_file,
        _text_treatment,
    ],
    ids=[
        "missing file",
        "folder as data",
        "missing column",
        "empty file",
        "damaged parquet",
        "out is a file",
        "library InputError",
    ],
)
def test_user_mistakes_in_process(csv, tmp_path, capsys, make):
    argv, message = make(csv, tmp_path)
    line = _one_line_error(capsys, argv, message)
    if "cannot read" in message or "Parquet" in message:
        assert str(tmp_path) in line  # the message names the file


@pytest.mark.parametrize(
    "error", [ValueError("boom"), TypeError("boom"), KeyError("boom"), RuntimeError("boom")]
)
def test_library_bug_propagates(csv, tmp_path, monkeypatch, error):
    def broken_fit(self, X, y):
        raise error

    monkeypatch.setattr(AnovaComparator, "fit", broken_fit)
    with pytest.raises(type(error), match="boom") as info:
        cli.main(_fit_args(csv, tmp_path))
    assert info.traceback[-1].name == "broken_fit"  # the traceback reaches the bug


def test_library_bug_exits_1_with_traceback(csv, tmp_path):
    script = (
        "import sys\n"
        "from bwestimators.anova import AnovaComparator\n"
        "def broken_fit(self, X, y):\n"
        "    raise ValueError('boom')\n"
        "AnovaComparator.fit = broken_fit\n"
        "from bwestimators.cli import main\n"
        "sys.exit(main(sys.argv[1:]))\n"
    )
    res = subprocess.run(
        [sys.executable, "-c", script, *_fit_args(csv, tmp_path)], capture_output=True, text=True
    )
    assert res.returncode == 1
    assert "Traceback" in res.stderr and "broken_fit" in res.stderr
    assert "ValueError: boom" in res.stderr


def test_parameter_validation_is_a_user_error(csv, tmp_path, monkeypatch, capsys):
    def invalid(self, X, y):
        raise InvalidParameterError("The 'alpha' parameter of AnovaComparator must be ...")

    monkeypatch.setattr(AnovaComparator, "fit", invalid)
    _one_line_error(capsys, _fit_args(csv, tmp_path), "The 'alpha' parameter")


def test_progress_bar_closed_before_the_message(csv, tmp_path, monkeypatch, capsys):
    from tqdm.auto import tqdm

    bars = []

    def failing_fit(self, X, y):
        bars.append(tqdm(total=3, desc="fit", file=sys.stderr))
        bars[0].update(1)
        raise InputError("y is constant; there is nothing to estimate.")

    monkeypatch.setattr(AnovaComparator, "fit", failing_fit)
    _one_line_error(capsys, _fit_args(csv, tmp_path), "y is constant")
    assert bars[0].disable  # closed: tqdm disables a bar when it closes it
    assert bars[0] not in getattr(tqdm, "_instances", ())


# ---- verdicts follow the estimator's hdi_prob and alpha ----


@pytest.mark.parametrize(
    ("est", "row", "expected"),
    [
        ({"hdi_prob": 0.94}, {"lower": 0.1, "upper": 2.0}, "effect > 0: 94% HDI excludes 0"),
        ({"hdi_prob": 0.9}, {"lower": -2.0, "upper": -0.1}, "effect < 0: 90% HDI excludes 0"),
        (
            {"hdi_prob": 0.94, "alpha": 0.05},  # Bayesian tables carry p_value = NaN
            {"lower": 0.1, "upper": 2.0, "p_value": np.nan},
            "effect > 0: 94% HDI excludes 0",
        ),
        ({"hdi_prob": 0.5}, {"lower": -1.0, "upper": 2.0}, "no clear effect: 50% HDI includes 0"),
        (
            {"hdi_prob": 0.945},
            {"lower": -1.0, "upper": 2.0},
            "no clear effect: 94.5% HDI includes 0",
        ),
        ({"hdi_prob": 0.57}, {"lower": -1.0, "upper": 2.0}, "no clear effect: 57% HDI includes 0"),
        (
            {"alpha": 0.05},
            {"lower": 0.1, "upper": 2.0, "p_value": 0.03},
            "significant (p = 0.03 < 0.05)",
        ),
        (
            {"alpha": 0.01},
            {"lower": 0.1, "upper": 2.0, "p_value": 0.03},
            "not significant (p = 0.03 >= 0.01)",
        ),
        (
            {"alpha": 0.05},
            {"lower": 0.1, "upper": 2.0, "p_value": 0.0496},
            "significant (p = 0.0496 < 0.05)",
        ),
        ({"alpha": 0.05}, {"lower": 0.1, "upper": 2.0, "p_value": np.nan}, "no p-value"),
    ],
)
def test_verdict_reads_the_estimator(est, row, expected):
    assert verdict(SimpleNamespace(**est), row) == expected


def test_fit_verdicts_use_the_fitted_alpha(csv, tmp_path, monkeypatch, capsys):
    make = cli._make

    def strict(method, *args):
        return make(method, *args).set_params(alpha=1e-300)

    monkeypatch.setattr(cli, "_make", strict)
    assert cli.main(_fit_args(csv, tmp_path, method="lme")) == 0
    table = pd.read_csv(tmp_path / "effects_all.csv")
    assert table["p_value"].iloc[0] < 0.05  # significant at the default level
    assert table["verdict"].iloc[0].startswith("not significant")
    assert table["verdict"].iloc[0].endswith(">= 1e-300)")
    assert ">= 1e-300" in capsys.readouterr().out


# ---- power: the config file and paths the user gave ----


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ("repeats = [", "cannot read config file"),
        ("repeats = 1\nbogus = 3\n[grid]\nn_trials = [5]\nn_mice = [3]\n", "unknown setting"),
        ("repeats = 0\n", "repeats must be a positive integer"),
        ("alpha = 1.5\n", "alpha must be a number in (0, 1)"),
        ("[grid]\nn_trials = 5\n", "values must be lists"),
        ("[grid]\nn_trails = [5]\n", "generate_fake_lfp takes"),
    ],
)
def test_power_config_mistakes(tmp_path, capsys, config, message):
    path = tmp_path / "sweep.toml"
    path.write_text(config)
    argv = ["power", "--config", str(path), "--methods", "anova", "--effects", "0"]
    line = _one_line_error(capsys, [*argv, "--out", str(tmp_path / "out")], message)
    assert str(path) in line


def test_power_checkpoint_folder_is_a_user_error(tmp_path, capsys):
    argv = ["power", "--methods", "anova", "--checkpoint", str(tmp_path), "--out", str(tmp_path)]
    _one_line_error(capsys, argv, "--checkpoint")


def test_power_batch_size_must_be_positive(capsys):
    with pytest.raises(SystemExit) as info:
        cli.main(["power", "--batch-size", "0"])
    assert info.value.code == 2
    assert "must be a positive integer" in capsys.readouterr().err


@pytest.mark.parametrize("command", ["demo", "fit", "power"])
def test_negative_seed_is_a_usage_error(command, capsys):
    argv = [command, *(["data.csv", "--y", "y", "--treatment", "t"] if command == "fit" else [])]
    with pytest.raises(SystemExit) as info:  # numpy refuses negative seeds, deep in a sweep
        cli.main([*argv, "--seed", "-1"])
    assert info.value.code == 2
    assert "--seed: must be an integer >= 0, got '-1'" in capsys.readouterr().err


# ---- power: the command line overrides the config file, which overrides the defaults ----


def _power_settings(*argv):
    return cli._power_settings(build_parser().parse_args(["power", *argv]))


def test_power_command_line_overrides_the_config(tmp_path):
    config = tmp_path / "sweep.toml"
    config.write_text("repeats = 3\nalpha = 0.1\n[grid]\nn_trials = [4]\ndur = [5]\n")
    grid, settings, source = _power_settings(
        "--config", str(config), "--repeats", "2", "--n-trials", "6"
    )
    assert settings == {"repeats": 2, "alpha": 0.1}  # --repeats wins, the file's alpha stays
    assert grid == {
        "mouse_response_slope": cli.POWER_DEFAULTS["effects"],  # neither: the built-in default
        "n_trials": [6],
        "n_mice": cli.POWER_DEFAULTS["n_mice"],
        "dur": [5],
    }
    assert source["repeats"] == "--repeats" and source["alpha"] == str(config)
    grid, settings, _ = _power_settings("--config", str(config))
    assert settings == {"repeats": 3, "alpha": 0.1} and grid["n_trials"] == [4]
    grid, settings, _ = _power_settings()
    assert settings == {"repeats": 20, "alpha": 0.05}
    assert grid == {"mouse_response_slope": [0.0, 2.0, 5.0, 9.0], "n_trials": [10], "n_mice": [10]}


def test_power_repeats_option_beats_the_config_end_to_end(tmp_path, capsys):
    config = tmp_path / "sweep.toml"
    config.write_text("repeats = 3\n[grid]\nn_trials = [3]\nn_mice = [3]\n")
    base = ["power", "--config", str(config), "--methods", "anova", "--effects", "5"]
    assert cli.main([*base, "--repeats", "2", "--out", str(tmp_path / "a")]) == 0
    assert len(pd.read_csv(tmp_path / "a" / "power_results.csv")) == 2
    assert "(2 per grid point)" in capsys.readouterr().err
    assert cli.main([*base, "--out", str(tmp_path / "b")]) == 0  # the file's repeats = 3
    assert len(pd.read_csv(tmp_path / "b" / "power_results.csv")) == 3


def test_power_help_shows_the_built_in_defaults():
    power = build_parser()._subparsers._group_actions[0].choices["power"]
    text = " ".join(power.format_help().split())
    for option, default in [
        ("--effects", "(default: 0.0 2.0 5.0 9.0)"),
        ("--n-trials", "(default: 10)"),
        ("--n-mice", "(default: 10)"),
        ("--repeats", "(default: 20)"),
        ("--alpha", "(default: 0.05)"),
    ]:
        assert default in text.split(option, 2)[2].split(" --")[0], option
    assert "command line, else this file, else the built-in default" in text


# ---- power: bad grid values and settings are one line, before anything is fitted ----


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--n-trials", "0"], "--n-trials: n_trials must be at least 1"),
        (["--n-trials", "5", "-1"], "--n-trials: n_trials must be at least 1"),
        (["--n-mice", "0"], "--n-mice: n_mice must be at least 2"),
        (["--n-mice", "1"], "a group effect needs two or more mice"),
        (["--effects", "nan"], "--effects (mouse_response_slope): mouse_response_slope must be"),
        (["--effects", "0", "inf"], "must be a finite number"),
        (["--effects", "-50"], "--effects (mouse_response_slope): overall_stim_response_strength"),
        (["--repeats", "-1"], "--repeats: repeats must be a positive integer, got -1"),
        (["--repeats", "0"], "--repeats: repeats must be a positive integer"),
        (["--alpha", "nan"], "--alpha: alpha must be a number in (0, 1)"),
    ],
)
def test_power_bad_options(tmp_path, capsys, options, message):
    argv = ["power", "--methods", "anova", "--repeats", "1", *options]
    _one_line_error(capsys, [*argv, "--out", str(tmp_path / "out")], message)
    assert not (tmp_path / "out").exists()  # stopped before the sweep


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ("[grid]\nn_trials = [0]\n", "n_trials must be at least 1"),
        ("[grid]\nn_trials = []\n", "[grid] n_trials is empty"),
        ("[grid]\nn_trials = [2.5]\n", "n_trials must be an integer"),
        ("[grid]\nn_trials = ['5']\n", "n_trials must be an integer"),
        ("[grid]\ndur = [0]\n", "dur must be at least 1"),
        ("[grid]\nslowest_fr = [0]\n", "slowest_fr must be > 0"),
        ("[grid]\ntime_randomness = [5, -1]\n", "time_randomness must be >= 0"),
        ("[grid]\nn_mice = [1, 5]\n", "n_mice must be at least 2"),
        (
            "[grid]\noverall_stim_response_strength = [-20]\n",
            "overall_stim_response_strength + mouse_response_slope",
        ),
    ],
)
def test_power_bad_grid_in_config(tmp_path, capsys, config, message):
    path = tmp_path / "sweep.toml"
    path.write_text("repeats = 1\n" + config)
    argv = ["power", "--config", str(path), "--methods", "anova", "--out", str(tmp_path / "o")]
    line = _one_line_error(capsys, argv, message)
    assert f"error: {path}: " in line  # the message names the file the value came from


def test_power_parquet_checkpoint_resumes(tmp_path):
    checkpoint = tmp_path / "sweep.parquet"  # written as a folder of part files
    argv = ["power", "--methods", "anova", "--effects", "5", "--n-trials", "3", "--n-mice", "3"]
    argv += ["--repeats", "1", "--checkpoint", str(checkpoint), "--out", str(tmp_path / "out")]
    assert cli.main(argv) == 0
    assert checkpoint.is_dir()
    assert cli.main(argv) == 0  # the folder is this sweep's checkpoint, not a mistake


def test_power_progress_bar_closed_before_the_message(tmp_path, monkeypatch, capsys):
    import bwestimators.datasets

    def failing(n_trials=10, n_mice=10, mouse_response_slope=1.0, random_state=None):
        raise InputError("the generator refuses")

    monkeypatch.setattr(bwestimators.datasets, "generate_fake_lfp", failing)
    argv = ["power", "--methods", "anova", "--effects", "5", "--repeats", "2"]
    _one_line_error(capsys, [*argv, "--batch-size", "1", "--out", str(tmp_path)], "refuses")


# ---- fit: odd but plausible tables and options ----


def _table(csv, tmp_path, name, change=None, **to_csv):
    df = pd.read_csv(csv)
    if change is not None:
        df = change(df)
    path = tmp_path / name
    if to_csv.pop("parquet", False):
        df.to_parquet(path)
    else:
        df.to_csv(path, index=False, **to_csv)
    return path


@pytest.mark.parametrize(
    ("name", "to_csv"),
    [
        ("parquet_named.csv", {"parquet": True}),
        ("csv_named.parquet", {}),
        ("semicolons.csv", {"sep": ";", "decimal": ","}),
        ("semicolons_dot.csv", {"sep": ";"}),
        ("tabs.tsv", {"sep": "\t"}),
        ("tabs.csv", {"sep": "\t"}),
        ("excel_bom.csv", {"encoding": "utf-8-sig"}),
    ],
)
def test_read_table_by_its_content(csv, tmp_path, name, to_csv):
    path = _table(csv, tmp_path, name, **to_csv)
    pd.testing.assert_frame_equal(cli._read_table(path), pd.read_csv(csv), check_dtype=False)
    assert all(t.kind == "f" for t in cli._read_table(path)[["Power", "Log power"]].dtypes)


def test_fit_parquet_named_csv(csv, tmp_path, capsys):
    path = _table(csv, tmp_path, "trials.csv", parquet=True)  # once a codec error
    assert cli.main(_fit_args(path, tmp_path / "out")) == 0
    assert "is Parquet, whatever its name says" in capsys.readouterr().err
    expected = _table(csv, tmp_path, "trials.parquet", parquet=True)
    assert cli.main(_fit_args(expected, tmp_path / "ok")) == 0
    pd.testing.assert_frame_equal(
        pd.read_csv(tmp_path / "out" / "effects_anova.csv"),
        pd.read_csv(tmp_path / "ok" / "effects_anova.csv"),
    )


def test_fit_unicode_and_numeric_column_names(csv, tmp_path, capsys):
    path = _table(
        csv, tmp_path, "u.csv", lambda df: df.set_axis(["мышь", "stim", "i", "P", "Lög"], axis=1)
    )
    argv = ["fit", str(path), "--y", "Lög", "--treatment", "stim", "--group", "мышь"]
    assert cli.main([*argv, "--method", "lme", "--out", str(tmp_path / "u")]) == 0
    numbered = _table(
        csv, tmp_path, "n.parquet", lambda df: df.set_axis([1, 2, 3, 4, 5], axis=1), parquet=True
    )
    assert pd.read_parquet(numbered).columns.tolist() == [1, 2, 3, 4, 5]
    path = numbered
    argv = ["fit", str(path), "--y", "5", "--treatment", "2", "--group", "1"]
    assert cli.main([*argv, "--method", "anova", "--out", str(tmp_path / "n")]) == 0


def test_fit_boolean_y_is_a_0_1_outcome(csv, tmp_path):
    path = _table(
        csv, tmp_path, "b.csv", lambda df: df.assign(**{"Log power": df["Log power"] > 1.2})
    )
    assert cli.main(_fit_args(path, tmp_path / "out")) == 0
    assert pd.read_csv(tmp_path / "out" / "effects_anova.csv")["estimate"].abs().iloc[0] <= 1


def test_fit_anova_without_group_uses_the_rows(csv, tmp_path):
    argv = ["fit", str(csv), "--y", "Log power", "--treatment", "stim", "--method", "anova"]
    assert cli.main([*argv, "--out", str(tmp_path)]) == 0
    assert pd.read_csv(tmp_path / "effects_anova.csv")["p_value"].iloc[0] < 0.05


def _set(column, values):
    return lambda df: df.assign(**{column: values(df)})


def _latin1(df):
    return df.rename(columns={"Log power": "Lög power"})  # written as Latin-1 below


@pytest.mark.parametrize(
    ("name", "change", "options", "message"),
    [
        (
            "text.csv",
            _set("Log power", lambda df: np.where(df["stim"] == 1, "high", "low")),
            {},
            "holds text, e.g. 'low' (100 of 100 values)",
        ),
        (
            "one.csv",
            _set("Log power", lambda df: df["Log power"].astype(str).where(df.index != 3, "n/a?")),
            {},
            "holds text, e.g. 'n/a?' (1 of 100 values)",
        ),
        ("header.csv", lambda df: df.head(0), {}, "has no data rows"),
        ("level.csv", lambda df: df[df["stim"] == 0], {}, "single level"),
        (
            "inf.csv",
            _set("Log power", lambda df: df["Log power"].where(df.index != 0, np.inf)),
            {},
            "infinite",
        ),
        ("latin1.csv", _latin1, {"--y": "Lög power"}, "not UTF-8 text"),
        ("ok.csv", None, {"--group": "Log power"}, "--group 'Log power' is also --y"),
        ("ok.csv", None, {"--group": "stim"}, "--group 'stim' is also --treatment"),
        ("ok.csv", None, {"--treatment": "Log power"}, "--treatment 'Log power' is also --y"),
        ("ok.csv", None, {"--detail": "mouse id"}, "--detail 'mouse id' is also --group"),
        ("ok.csv", None, {"--group2": "mouse id"}, "--group2 'mouse id' is also --group"),
        ("ok.csv", None, {"--condition": ["i_trial", "i_trial"]}, "'i_trial' is twice"),
    ],
    ids=[
        "y text",
        "y one text value",
        "header only",
        "one treatment level",
        "y inf",
        "latin-1",
        "group is y",
        "group is treatment",
        "treatment is y",
        "detail is group",
        "group2 is group",
        "condition twice",
    ],
)
def test_fit_odd_inputs_are_one_line(csv, tmp_path, capsys, name, change, options, message):
    encoding = {"encoding": "latin-1"} if name == "latin1.csv" else {}
    path = _table(csv, tmp_path, name, change, **encoding)
    argv = _fit_args(path, tmp_path / "out")
    for option, value in options.items():  # replace the option's value, or add the option
        values = value if isinstance(value, list) else [value]
        if option in argv:
            argv[argv.index(option) + 1 : argv.index(option) + 2] = values
        else:
            argv += [option, *values]
    line = _one_line_error(capsys, argv, message)
    if name in ("header.csv", "latin1.csv"):
        assert str(path) in line


def test_fit_empty_file_says_so(tmp_path, capsys):
    (tmp_path / "e.csv").write_text("")
    _one_line_error(capsys, _fit_args(tmp_path / "e.csv", tmp_path / "out"), "it is empty")


# ---- progress bars only on a terminal ----


@pytest.mark.parametrize("tty", [False, True])
def test_progress_bars_only_on_a_terminal(monkeypatch, tty):
    import io

    from bwestimators import ColumnSpec
    from bwestimators.cli import _make

    class Stderr(io.StringIO):
        def isatty(self):
            return tty

    monkeypatch.setattr(sys, "stderr", Stderr())
    est = _make("bayes", ColumnSpec("stim", group="mouse"), "normal", 0, True)
    assert est.progress_bar is tty


def test_demo_figures_name_the_methods_and_intervals(tmp_path, monkeypatch, capsys):
    import matplotlib.figure

    titles = {}

    def keep(fig, fname, *args, **kwargs):
        titles[Path(fname).name] = [ax.get_title() for ax in fig.axes] + [
            t.get_text() for t in fig.texts
        ]

    monkeypatch.setattr(matplotlib.figure.Figure, "savefig", keep)
    monkeypatch.setattr(
        cli,
        "_sampler_settings",
        lambda quick: {"num_warmup": 50, "num_samples": 50, "num_chains": 1},
    )
    assert cli.main(["demo", "--quick", "--out", str(tmp_path)]) == 0
    assert titles["slopes.png"] == [
        "Bayesian hierarchical (94 % HDI)",
        "Mixed model (LME) (95 % CI)",
        "ANOVA (95 % CI)",
        "Effect of stim on Log power",
    ]
    assert "Log power per mouse: a line per i_trial" in titles["data.png"]

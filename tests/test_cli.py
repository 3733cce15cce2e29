import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from bwestimators import __version__
from bwestimators.cli import build_parser
from bwestimators.datasets import generate_fake_lfp


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

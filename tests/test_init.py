import subprocess
import sys


def test_import_is_lazy_and_fast():
    code = (
        "import sys, time; t = time.perf_counter(); import bwestimators; "
        "dt = time.perf_counter() - t; "
        "assert 'jax' not in sys.modules and 'numpyro' not in sys.modules, 'jax imported'; "
        "assert 'pandas' not in sys.modules, 'pandas imported'; "
        "[getattr(bwestimators, n) for n in ('ColumnSpec', 'HierarchicalSlopeRegressor', "
        "'ConditionMeansRegressor', 'LMEComparator', 'AnovaComparator')]; "
        "assert 'jax' not in sys.modules, 'the estimator classes import jax'; "
        "print(dt)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert float(out.stdout) < 2.0  # a generous bound; the benchmark reports the real number


def test_public_names():
    import bwestimators

    for name in ("ColumnSpec", "HierarchicalSlopeRegressor", "LMEComparator", "AnovaComparator"):
        assert name in dir(bwestimators)
    assert bwestimators.ColumnSpec.__name__ == "ColumnSpec"


def test_ci_runs_the_readme_test_command():
    from pathlib import Path

    root = Path(__file__).parent.parent
    lines = (root / "README.md").read_text().splitlines()
    commands = [line for line in lines[:6] if line.startswith("bash tools/venv.sh")]
    assert len(commands) == 2
    assert "bwestimators demo" in commands[0] and "pytest" in commands[1]
    ci = (root / ".ci" / "run").read_text()
    assert "grep -m 1 -E '^bash tools/venv.sh test' README.md" in ci
    assert commands[1].startswith("bash tools/venv.sh test")

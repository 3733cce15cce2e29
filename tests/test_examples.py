"""Every example script runs with small settings and saves non-blank figures."""

import subprocess
import sys
from pathlib import Path

import matplotlib.pyplot as plt
import pytest

EXAMPLES = Path(__file__).parent.parent / "examples"
FIGURES = {
    "plot_lfp_example.py": [
        "lfp_data.png",
        "lfp_methods.png",
        "lfp_intercepts_and_slope.png",
        "lfp_all_samples.png",
    ],
    "plot_spikes_example.py": ["spikes_slopes.png"],
    "plot_radon_example.py": ["radon_shrinkage.png"],
    "plot_chirp_power_example.py": ["chirp_power_effects.png", "chirp_power_data.png"],
    "plot_power_comparison.py": ["power_curves.png", "power_fpr_roc.png"],
    "plot_user_model.py": ["user_model.png"],
    "plot_power_from_pilot.py": ["power_from_pilot.png"],
}


def test_every_example_is_listed():
    assert sorted(p.name for p in EXAMPLES.glob("plot_*.py")) == sorted(FIGURES)


@pytest.mark.parametrize("script", sorted(FIGURES))
def test_example_runs(script, tmp_path):
    subprocess.run(
        [sys.executable, str(EXAMPLES / script), "--quick", "--out", str(tmp_path)],
        check=True,
        capture_output=True,
        text=True,
        cwd=EXAMPLES,
    )
    for name in FIGURES[script]:
        img = plt.imread(tmp_path / name)
        assert img.std() > 0.02, name

import subprocess
import sys


def _run(code):
    subprocess.run([sys.executable, "-c", code], check=True)


def test_models_import_numpyro_safely_after_arviz():
    """ArviZ first makes numpyro a lazy module; the models load it for real before using it."""
    _run(
        "import arviz\n"
        "from bwestimators.models import slope_model\n"
        "import numpyro, numpyro.distributions\n"
        "assert hasattr(numpyro.distributions, 'distribution')\n"
        "assert callable(numpyro.factor)\n"
    )


def test_a_numpyro_broken_by_a_lazy_load_is_repaired():
    _run(
        "import arviz\n"
        "import numpyro.distributions\n"  # ArviZ's lazy numpyro, a submodule first: broken
        "assert not hasattr(numpyro.distributions, 'distribution')\n"
        "import bwestimators._numpyro\n"
        "assert hasattr(numpyro.distributions, 'distribution')\n"
    )

import subprocess
import sys


def test_arviz_imported_before_numpyro_does_not_break_numpyro():
    """ArviZ loads numpyro lazily; the library mends numpyro's lost submodule attributes."""
    code = (
        "import arviz\n"
        "from bwestimators import inference\n"
        "import numpyro\n"
        "assert hasattr(numpyro.distributions, 'distribution')\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)

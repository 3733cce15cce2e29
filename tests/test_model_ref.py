import json
import os
import subprocess
import sys

import pytest

from bwestimators import inference, models
from bwestimators._model_ref import BuiltinModel
from bwestimators.hierarchical import ConditionMeansRegressor, HierarchicalSlopeRegressor


@pytest.mark.parametrize("est", [HierarchicalSlopeRegressor(), ConditionMeansRegressor()])
def test_keys_the_samplers_as_the_model_function(est):
    """The reference and the function share the in-memory and the disk-cache keys."""
    ref = est._model_fn()
    function = getattr(models, est._model_name)
    assert isinstance(ref, BuiltinModel)
    assert ref.function() is function
    assert inference._builtin(ref)
    assert inference._model_key(ref) == inference._model_key(function)


def test_unknown_model_name():
    with pytest.raises(ValueError, match="No built-in model 'nope'"):
        BuiltinModel("nope")


_FIT = """
import json, sys
import numpy as np
from bwestimators import ColumnSpec, HierarchicalSlopeRegressor
from bwestimators.datasets import generate_fake_lfp
df = generate_fake_lfp(mouse_response_slope=9, n_trials=4, random_state=0).df
est = HierarchicalSlopeRegressor(ColumnSpec("stim", group="mouse"), add_group_slope=False,
                                 num_warmup=30, num_samples=30, num_chains=2, random_state=0)
est.fit(df, df["Log power"])
loaded = [m for m in ("numpyro", "arviz", "arviz_stats", "xarray") if m in sys.modules]
print(json.dumps({"beta": est.draws_["beta"].tolist(), "loaded": loaded}))
"""


def _fit_in_new_process():
    out = subprocess.run(
        [sys.executable, "-c", _FIT], capture_output=True, text=True, env=os.environ, check=True
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_a_fit_on_an_exported_sampler_imports_neither_numpyro_nor_arviz():
    """With the sampler on disk, a new process's fit runs the program alone, with the same draws.

    (The tests' disk cache: the first process traces, compiles and exports the
    sampler, unless an earlier run did.)
    """
    first = _fit_in_new_process()
    second = _fit_in_new_process()
    assert second["loaded"] == []
    assert second["beta"] == first["beta"]

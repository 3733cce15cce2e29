"""This project against its fastest peers on one model, in fresh processes, interleaved.

The workload of issue [8/9]: the fake-LFP trial-level data (10 mice x 2 levels x 30 trials),
a random intercept per mouse, normal likelihood, 4 chains x (500 warmup + 1000 draws), every
system on the sufficient statistics of the 20 (mouse, stim) cells:

- ``bwestimators``: ``HierarchicalSlopeRegressor(add_group_slope=False)``, its chains side by
  side in one thread per core (``BWESTIMATORS_NUM_THREADS`` unset);
- ``bwestimators-1thread``: the same with ``BWESTIMATORS_NUM_THREADS=1``, the chains one after
  another (what running the chains in threads gains);
- ``numpyro``: the same model written by hand (numpyro ``MCMC``/``NUTS``, chains one after
  another on one device, jax's persistent compilation cache on);
- ``nutpie``: the same model in PyMC, compiled by nutpie (numba), chains on every core.

Each system runs ``--repeats`` times, each time in a new Python process, systems interleaved
so that machine load hits them alike. A process fits twice: the first fit (what a user's new
session pays, caches warm from the warm-up round, model compilation included) and a refit of the
same shape. Slope ESS is
computed for every system by the same function (``bwestimators._summaries.ess_rhat``, equal to
ArviZ's rank-normalized bulk ESS). Prints one JSON document with the medians and the ratios
of this project against each peer, and ``chains_in_threads``: the threads a fit of this project
used and its refit speed-up over one thread.

nutpie and PyMC come with the ``bench`` extra (``bash tools/venv.sh bench``); without them the
nutpie column is left out.

Usage::

    python benchmarks/bench_peers.py [--repeats 5] [--systems bwestimators numpyro nutpie]
"""

import argparse
import importlib.util
import json
import os
import statistics
import subprocess
import sys
import tempfile

DATA = """
import numpy as np
from bwestimators.datasets import generate_fake_lfp
df = generate_fake_lfp(mouse_response_slope=9, n_trials=30, random_state=0).df
y = df["Log power"].to_numpy()
cells = df.assign(y=y).groupby(["mouse", "stim"], observed=True)["y"]
n = cells.size().to_numpy().astype(float)
ybar = cells.mean().to_numpy()
ss = (cells.var(ddof=0) * cells.size()).to_numpy()
keys = cells.size().index.to_frame(index=False)
g = keys["mouse"].astype("category").cat.codes.to_numpy()
t = keys["stim"].to_numpy().astype(float)
loc, scale = float(y.mean()), float(y.std())
n_groups = int(g.max()) + 1
"""

RUN = """
import json, time
from bwestimators._summaries import ess_rhat
times, ess = [], []
for _ in range(2):
    t0 = time.perf_counter()
    slope = fit()
    times.append(time.perf_counter() - t0)
    ess.append(float(ess_rhat(np.asarray(slope, dtype=float)[..., None])[0][0]))
print(json.dumps({"first_fit_s": times[0], "refit_s": times[1], "slope_ess": ess[1],
                  "slope_mean": float(np.mean(slope))}))
"""

SYSTEMS = {
    "bwestimators": """
from bwestimators import ColumnSpec, HierarchicalSlopeRegressor
est = HierarchicalSlopeRegressor(ColumnSpec("stim", group="mouse"), add_group_slope=False,
                                 num_warmup=500, num_samples=1000, num_chains=4, random_state=0)
def fit():
    est.fit(df, df["Log power"])
    return est.draws_["beta"] * est.y_scale_.scale
""",
    "bwestimators-1thread": None,  # the code of "bwestimators", one thread (see ENV)
    "numpyro": """
import jax, jax.numpy as jnp, numpyro, numpyro.distributions as dist
from numpyro.infer import MCMC, NUTS
jax.config.update("jax_compilation_cache_dir", CACHE + "/jax-hand")
jax.config.update("jax_persistent_cache_min_compile_time_secs", 0)
z_bar, z_ss = (ybar - loc) / scale, ss / scale**2
def model(n, z_bar, z_ss, g, t):
    alpha = numpyro.sample("alpha", dist.Normal(0, 1))
    beta = numpyro.sample("beta", dist.Normal(0, 1))
    sd_g = numpyro.sample("sd_g", dist.HalfNormal(1))
    sigma = numpyro.sample("sigma", dist.HalfNormal(1))
    raw = numpyro.sample("raw", dist.Normal(jnp.zeros(n_groups), 1).to_event(1))
    mu = alpha + raw[g] * sd_g + beta * t
    ll = (-n * jnp.log(sigma) - (z_ss + n * (z_bar - mu) ** 2) / (2 * sigma**2))
    numpyro.factor("ll", ll.sum())
mcmc = MCMC(NUTS(model, target_accept_prob=0.95), num_warmup=500, num_samples=1000,
            num_chains=4, chain_method="sequential", progress_bar=False)
args = tuple(jnp.asarray(a) for a in (n, z_bar, z_ss, g, t))
def fit():
    mcmc.run(jax.random.PRNGKey(0), *args)
    return np.asarray(mcmc.get_samples(group_by_chain=True)["beta"]) * scale
""",
    "nutpie": """
import pymc as pm, nutpie
z_bar, z_ss = (ybar - loc) / scale, ss / scale**2
with pm.Model() as model:
    alpha = pm.Normal("alpha", 0, 1)
    beta = pm.Normal("beta", 0, 1)
    sd_g = pm.HalfNormal("sd_g", 1)
    sigma = pm.HalfNormal("sigma", 1)
    raw = pm.Normal("raw", 0, 1, shape=n_groups)
    mu = alpha + raw[g] * sd_g + beta * t
    pm.Potential("ll", (-n * pm.math.log(sigma)
                        - (z_ss + n * (z_bar - mu) ** 2) / (2 * sigma**2)).sum())
compiled = []
def fit():  # the first fit compiles the model (numba), as a user's first fit does
    if not compiled:
        compiled.append(nutpie.compile_pymc_model(model))
    trace = nutpie.sample(compiled[0], draws=1000, tune=500, chains=4, cores=os.cpu_count(),
                          seed=0, progress_bar=False, target_accept=0.95)
    return trace.posterior["beta"].to_numpy() * scale
""",
}


#: Environment variables of a system's processes.
ENV = {"bwestimators-1thread": {"BWESTIMATORS_NUM_THREADS": "1"}}


def _run(system, cache):
    env = {**os.environ, "BWESTIMATORS_JAX_CACHE": cache, **ENV.get(system, {})}
    code = f"import os\nCACHE = {cache!r}\n" + DATA + (SYSTEMS[system] or SYSTEMS["bwestimators"])
    code += RUN
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=False
    )
    if out.returncode:
        raise RuntimeError(f"{system} failed:\n{out.stderr[-2000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--systems", nargs="+", default=list(SYSTEMS), choices=list(SYSTEMS))
    args = parser.parse_args(argv)
    systems = [
        s for s in args.systems if s != "nutpie" or importlib.util.find_spec("nutpie") is not None
    ]
    runs = {s: [] for s in systems}
    with tempfile.TemporaryDirectory() as cache:
        for system in systems:  # warm-up round: fills the compile caches
            _run(system, cache)
        for _ in range(args.repeats):
            for system in systems:
                runs[system].append(_run(system, cache))
    table = {}
    for system, rs in runs.items():
        refit = statistics.median(r["refit_s"] for r in rs)
        ess = statistics.median(r["slope_ess"] for r in rs)
        table[system] = {
            "first_fit_s": statistics.median(r["first_fit_s"] for r in rs),
            "refit_s": refit,
            "slope_ess": ess,
            "slope_ess_per_s": ess / refit,
            "slope_mean": statistics.median(r["slope_mean"] for r in rs),
        }
    ours = table["bwestimators"] if "bwestimators" in table else None
    ratios = {}
    if ours is not None:
        for peer, row in table.items():
            if not peer.startswith("bwestimators"):
                ratios[peer] = {
                    "first_fit_speedup": row["first_fit_s"] / ours["first_fit_s"],
                    "refit_speedup": row["refit_s"] / ours["refit_s"],
                    "ess_per_s_ratio": ours["slope_ess_per_s"] / row["slope_ess_per_s"],
                }
    result = {"repeats": args.repeats, "cpu_count": os.cpu_count(), "systems": table}
    if ours is not None:
        from bwestimators._threads import num_threads

        serial = table.get("bwestimators-1thread")
        result["chains_in_threads"] = {
            "threads": num_threads(),
            "refit_speedup_over_1_thread": serial["refit_s"] / ours["refit_s"] if serial else None,
        }
    print(json.dumps({**result, "ours_vs_peer": ratios}, indent=2))


if __name__ == "__main__":
    main()

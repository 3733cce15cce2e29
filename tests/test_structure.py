"""The package's structure: an import graph without circles, small classes, one home per
likelihood name, no side effects at import."""

import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bwestimators._families import FAMILIES, LIKELIHOODS
from tests.conftest import TINY_SAMPLER_SCRIPT

PACKAGE = Path(__file__).resolve().parents[1] / "bwestimators"
#: The only modules that may name a likelihood in code: the families and their distributions.
FAMILY_HOMES = {"_families.py", "models/_likelihoods.py"}


def _module_name(path):
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _modules():
    return {_module_name(p): p for p in PACKAGE.rglob("*.py")}


def _imports(path, modules):
    """Package modules imported anywhere in a file (module level and inside functions)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            base = node.module
            for alias in node.names:
                sub = f"{base}.{alias.name}"
                found.add(sub if sub in modules else base)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return {m for m in found if m in modules and m != "bwestimators"}


def _cycle(graph):
    """One import circle as a list of modules, or None."""
    state, stack = {}, []

    def visit(node):
        state[node] = "open"
        stack.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == "open":
                return [*stack[stack.index(nxt) :], nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        state[node] = "done"
        stack.pop()
        return None

    for node in sorted(graph):
        if node not in state and (found := visit(node)):
            return found
    return None


def test_import_graph_has_no_circle():
    modules = _modules()
    graph = {name: _imports(path, modules) - {name} for name, path in modules.items()}
    assert _cycle(graph) is None
    # the check finds a circle when there is one
    graph["bwestimators._families"] = graph["bwestimators._families"] | {"bwestimators._bayes"}
    assert _cycle(graph) is not None


def test_no_class_over_300_lines():
    long = []
    for path in PACKAGE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ClassDef) and node.end_lineno - node.lineno > 300:
                long.append(f"{path.name}:{node.name} ({node.end_lineno - node.lineno} lines)")
    assert long == []


def _likelihood_literals(tree):
    """Likelihood names used as values in comparisons or in collections of several names."""
    names = set(LIKELIHOODS)
    hits = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Compare):
            parts = [node.left, *node.comparators]
            for part in parts:
                elements = part.elts if isinstance(part, (ast.Tuple, ast.List, ast.Set)) else [part]
                hits += [
                    e.value for e in elements if isinstance(e, ast.Constant) and e.value in names
                ]
        elif isinstance(node, (ast.Tuple, ast.List, ast.Set)):
            values = {e.value for e in node.elts if isinstance(e, ast.Constant)}
            if len(values & names) >= 2:
                hits += sorted(values & names)
    return sorted(set(hits))


def test_likelihood_names_live_with_the_families():
    offenders = {}
    for path in PACKAGE.rglob("*.py"):
        rel = path.relative_to(PACKAGE).as_posix()
        if rel in FAMILY_HOMES:
            continue
        hits = _likelihood_literals(ast.parse(path.read_text()))
        if hits:
            offenders[rel] = hits
    assert offenders == {}
    # the check sees a comparison with a name, and a tuple of names
    code = "if dist_y == 'gamma': pass\nx = dist_y in ('normal', 'student')"
    assert _likelihood_literals(ast.parse(code)) == ["gamma", "normal", "student"]


def test_every_family_has_a_distribution_and_a_variance():
    from bwestimators.models import _likelihoods

    assert set(_likelihoods._DISTRIBUTIONS) == set(FAMILIES)
    assert set(_likelihoods._VARIANCES) == set(FAMILIES)
    assert all(f.link in _likelihoods._INVERSE_LINKS for f in FAMILIES.values())


def test_importing_inference_has_no_side_effects(tmp_path):
    """No jax configuration and no folder until the first sampler run."""
    import os

    code = (
        "import os, jax\n"
        "from bwestimators import inference\n"
        "assert not jax.config.jax_compilation_cache_dir, jax.config.jax_compilation_cache_dir\n"
        "assert not os.path.exists(os.environ['BWESTIMATORS_JAX_CACHE'])\n"
        "root = inference.configure_cache()\n"
        "assert jax.config.jax_compilation_cache_dir == str(root / 'jax')\n"
    )
    env = {**os.environ, "BWESTIMATORS_JAX_CACHE": str(tmp_path / "cache")}
    subprocess.run([sys.executable, "-c", code], check=True, env=env)


def test_tests_do_not_write_into_home():
    assert not os.environ["BWESTIMATORS_JAX_CACHE"].startswith(str(Path.home()))


_CACHE_SCRIPT = (
    TINY_SAMPLER_SCRIPT
    + """
fault = sys.argv[1]
if fault == "unwritable":
    root.mkdir(parents=True)
    (root / "exported").write_text("a file where the folder should be")
else:
    inference.run_nuts(slope_model, cfg, data, seed_value=0, **kw)
    for p in (root / "exported").iterdir():
        p.write_bytes(p.read_bytes()[:100])
    inference._SAMPLERS.clear()
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    for c in (cfg, cfg._replace(condition_intercept=True)):
        draws, _ = inference.run_nuts(slope_model, c, data, seed_value=0, **kw)
        assert np.isfinite(draws["beta"]).all()
ours = [str(w.message) for w in caught if "compile cache" in str(w.message)]
assert len(ours) == 1, ours
if fault == "damaged":
    assert all(p.stat().st_size > 100 for p in (root / "exported").glob("*.jaxexport"))
"""
)


@pytest.mark.parametrize("fault", ["unwritable", "damaged"])
def test_a_broken_cache_falls_back_with_one_warning(tmp_path, fault):
    """A cache that cannot be written or read: fits still run, with one warning."""
    env = {**os.environ, "BWESTIMATORS_JAX_CACHE": str(tmp_path / "cache")}
    subprocess.run([sys.executable, "-c", _CACHE_SCRIPT, fault], check=True, env=env)


def test_sampler_cache_is_bounded():
    from bwestimators import inference

    assert inference._MAX_SAMPLERS <= 64

"""Checkpoints of power sweeps: keyed by the whole sweep, appended, safe to resume after a kill."""

import functools
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bwestimators import AnovaComparator, ColumnSpec
from bwestimators.power import PowerSimulation

SPEC = ColumnSpec("stim", group="mouse")


def _small(n_mice=6, n_trials=4, effect=0.0, random_state=None):
    """Random intercepts per mouse and a true effect: a few milliseconds per ANOVA fit."""
    rng = np.random.default_rng(random_state)
    mouse = np.repeat(np.arange(n_mice), 2 * n_trials)
    stim = np.tile(np.repeat([0, 1], n_trials), n_mice)
    y = rng.normal(0, 1, n_mice)[mouse] + effect * stim + rng.normal(0, 1, len(mouse))
    return pd.DataFrame({"mouse": mouse.astype(str), "stim": stim, "y": y})


def _other_generator(n_mice=6, n_trials=4, effect=0.0, random_state=None):
    return _small(n_mice, n_trials, 2 * effect, random_state)


class _Counting(AnovaComparator):
    """An ANOVA that counts its fits (all instances together) and stops the sweep at ``limit``."""

    fits = 0
    limit = None

    def fit(self, X, y):
        _Counting.fits += 1
        if _Counting.limit is not None and _Counting.fits > _Counting.limit:
            raise KeyboardInterrupt
        return super().fit(X, y)


@pytest.fixture(autouse=True)
def _reset_counter():
    _Counting.fits, _Counting.limit = 0, None
    yield
    _Counting.fits, _Counting.limit = 0, None


def _sim(**kw):
    args = {
        "generator": _small,
        "estimators": {"rm": _Counting(kind="rm"), "between": _Counting(kind="between")},
        "y": "y",
        "spec": SPEC,
        "param_grid": {"effect": [0.0, 1.0], "n_trials": [3, 5]},
        "n_repeats": 2,
        "effect_param": "effect",
        "random_state": 0,
        "progress": False,
    }
    args.update(kw)
    generator, estimators = args.pop("generator"), args.pop("estimators")
    return PowerSimulation(generator, estimators, **args)


def _run(sim, path=None, limit=None):
    """Run; the fits it made (a KeyboardInterrupt after ``limit`` fits returns None)."""
    _Counting.fits, _Counting.limit = 0, limit
    try:
        results = sim.run(checkpoint=path)
    except KeyboardInterrupt:
        results = None
    fits, _Counting.fits, _Counting.limit = _Counting.fits, 0, None
    return results, fits


def _same_table(a, b):
    pd.testing.assert_frame_equal(a.drop(columns="fit_seconds"), b.drop(columns="fit_seconds"))


def _read(path):
    return pd.read_parquet(path) if path.suffix == ".parquet" else pd.read_csv(path)


def _rows_on_disk(path):
    if not path.exists() or (path.is_dir() and not any(path.glob("part-*.parquet"))):
        return 0
    return len(_read(path))


FOREIGN = {
    "other effects": {"param_grid": {"effect": [0.0, 2.0], "n_trials": [3, 5]}},
    "grid in another order": {"param_grid": {"effect": [1.0, 0.0], "n_trials": [3, 5]}},
    "other estimator parameter": {
        "estimators": {"rm": _Counting(kind="rm"), "between": _Counting(kind="between", typ=3)}
    },
    "other estimator class": {
        "estimators": {"rm": _Counting(kind="rm"), "between": AnovaComparator(kind="between")}
    },
    "other estimator name": {
        "estimators": {"rm": _Counting(kind="rm"), "anova": _Counting(kind="between")}
    },
    "other seed": {"random_state": 1},
    "other repeats": {"n_repeats": 3},
    "other alpha": {"alpha": 0.01},
    "other generator": {"generator": _other_generator},
    "other generator argument": {"generator": functools.partial(_small, n_mice=7)},
    "other spec": {"spec": ColumnSpec("stim", group="mouse", detail="mouse")},
}


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
@pytest.mark.parametrize("change", list(FOREIGN))
def test_foreign_checkpoint_is_refused(tmp_path, suffix, change):
    path = tmp_path / f"sweep{suffix}"
    first, _ = _run(_sim(), path)
    before = _read(path)
    with pytest.raises(ValueError, match="belongs to another sweep") as info:
        _run(_sim(**FOREIGN[change]), path)
    assert "Delete it" in str(info.value) and "another checkpoint path" in str(info.value)
    assert str(path) in str(info.value)
    pd.testing.assert_frame_equal(_read(path), before)  # the checkpoint is left as it was
    # the sweep that wrote it still resumes from it, fitting nothing
    again, fits = _run(_sim(), path)
    assert fits == 0
    _same_table(again, first)


def test_sweep_key_covers_rows_not_display_or_workers():
    key = _sim().sweep_key()
    assert len(key) == 64
    assert _sim().sweep_key() == key  # new, equal objects give the same key
    same = [
        {"progress": True},
        {"n_jobs": 2},
        {"backend": "threading"},
        {"batch_size": 3},  # no estimator samples batches together: no effect on rows
        {"estimators": {"rm": _Counting(kind="rm"), "between": _Counting(kind="between")}},
    ]
    for kw in same:
        assert _sim(**kw).sweep_key() == key, kw
    for change, kw in FOREIGN.items():
        assert _sim(**kw).sweep_key() != key, change

    def closure(n_mice):
        return lambda **kw: _small(n_mice=n_mice, **kw)

    keys = [_sim(generator=g).sweep_key() for g in (closure(6), closure(6), closure(7))]
    assert keys[0] == keys[1] != keys[2]  # the values a generator closes over count
    partials = [functools.partial(_small, n_mice=n) for n in (6, 6, 7)]
    keys = [_sim(generator=g).sweep_key() for g in partials]
    assert keys[0] == keys[1] != keys[2]


def test_display_settings_stay_out_of_the_key():
    from bwestimators import HierarchicalSlopeRegressor

    keys = {
        _sim(estimators={"bayes": HierarchicalSlopeRegressor(progress_bar=bar)}).sweep_key()
        for bar in (True, False)
    }
    assert len(keys) == 1
    # a Bayesian estimator samples batches together: the batch size is part of the key
    bayes = {"bayes": HierarchicalSlopeRegressor()}
    assert _sim(estimators=bayes).sweep_key() != _sim(estimators=bayes, batch_size=2).sweep_key()


def test_sweep_key_is_the_same_in_another_process():
    code = """
import functools
from bwestimators import AnovaComparator, ColumnSpec, LMEComparator
from bwestimators.datasets import generate_fake_lfp
from bwestimators.power import PowerSimulation
sim = PowerSimulation(functools.partial(generate_fake_lfp, n_mice=5),
    {"anova": AnovaComparator(kind="rm"), "lme": LMEComparator()}, y="Log power",
    spec=ColumnSpec("stim", group="mouse"), param_grid={"mouse_response_slope": [0, 9]},
    n_repeats=3, random_state=4)
print(sim.sweep_key())
"""
    namespace = {}
    exec(code.replace("print(", "key = ("), namespace)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == namespace["key"]


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_same_sweep_resumes_without_redoing_finished_datasets(tmp_path, suffix):
    path = tmp_path / f"sweep{suffix}"
    full, fits = _run(_sim())
    total = fits
    assert total == 2 * 4 * 2  # estimators x grid points x repeats
    _, fits = _run(_sim(), path, limit=5)
    assert fits == 6  # the sixth fit raised
    saved = len(_read(path))
    assert saved == 4  # two whole datasets (the third was cut short before it was written)
    resumed, fits = _run(_sim(), path)
    assert fits == total - saved
    _same_table(resumed, full)
    again, fits = _run(_sim(), path)
    assert fits == 0
    _same_table(again, full)


def test_csv_checkpoint_is_appended_not_rewritten(tmp_path):
    path = tmp_path / "sweep.csv"
    handles = []

    def watching(**kw):  # holds the file that the first dataset's rows went into
        if path.exists() and len(path.read_bytes().splitlines()) > 1 and not handles:
            handles.append(open(path, "rb"))
        return _small(**kw)

    sim = _sim(generator=watching)
    try:
        sim.run(checkpoint=path)
        handles[0].seek(0)
        assert handles[0].read() == path.read_bytes()  # the same file grew
    finally:
        for h in handles:
            h.close()
    assert path.read_text().count("grid_index") == 1  # one header


def _cut_last_record(path, rng):
    """Truncate a CSV at a random byte of its last line (the newline and more are lost)."""
    data = path.read_bytes()
    start = data.rstrip(b"\n").rfind(b"\n") + 1
    cut = int(rng.integers(start, len(data) - 1))  # at least the newline and a quote go
    path.write_bytes(data[:cut])
    return cut


@pytest.mark.parametrize("seed", range(4))
def test_truncated_last_line_is_redone(tmp_path, seed):
    rng = np.random.default_rng(seed)
    path = tmp_path / "sweep.csv"
    full, _ = _run(_sim(), path)
    _cut_last_record(path, rng)
    resumed, fits = _run(_sim(), path)
    # the last dataset had one of its two rows cut: both its fits are redone, nothing else
    assert fits == 2
    _same_table(resumed, full)
    assert path.read_bytes().endswith(b"\n")
    on_disk = pd.read_csv(path)
    assert len(on_disk) == len(full) and on_disk["p_value"].notna().all()
    again, fits = _run(_sim(), path)
    assert fits == 0
    _same_table(again, full)


def test_truncated_inside_a_quoted_multiline_field(tmp_path):
    """Error messages may hold newlines and quotes; a cut inside one is an incomplete record."""

    def failing(**kw):
        df = _small(**kw)
        if kw["random_state"] % 2:
            df.loc[0, "y"] = np.nan  # the ANOVA refuses missing values
        return df

    class _Message(_Counting):
        def fit(self, X, y):
            try:
                return super().fit(X, y)
            except ValueError as exc:
                raise ValueError(f'line one, "quoted"\r\nline two: {exc}') from exc

    path = tmp_path / "sweep.csv"
    sim = _sim(generator=failing, estimators={"rm": _Message(kind="rm")}, n_repeats=4)
    full, total = _run(sim, path)
    assert full["error"].notna().any() and full["error"].str.contains('"quoted"\r\n').any()
    data = path.read_bytes()
    inside = data.rfind(b"line two") + 4  # inside the message of the last failed fit
    assert inside > data.find(b"\n") + 4
    path.write_bytes(data[:inside])
    resumed, fits = _run(sim, path)
    assert 1 <= fits < total
    _same_table(resumed, full)


def test_old_or_foreign_files_are_refused(tmp_path):
    old = tmp_path / "old.csv"
    _run(_sim())[0].drop(columns="fit_seconds").to_csv(old, index=False)  # no sweep key
    with pytest.raises(ValueError, match="not written by this version"):
        _run(_sim(), old)
    a_file = tmp_path / "sweep.parquet"
    a_file.write_bytes(b"PAR1")
    with pytest.raises(ValueError, match="is a file"):
        _run(_sim(), a_file)


def test_parquet_checkpoint_is_a_folder_compacted_when_done(tmp_path):
    path = tmp_path / "sweep.parquet"
    full, _ = _run(_sim())
    _run(_sim(), path, limit=5)
    (path / ".part-000009.parquet.tmp").write_bytes(b"half a part")  # killed mid-write
    resumed, _ = _run(_sim(), path)
    _same_table(resumed, full)
    names = [p.name for p in path.iterdir()]
    assert len(names) == 1 and names[0].startswith("part-"), names
    on_disk = pd.read_parquet(path)
    assert len(on_disk) == len(full) and (on_disk["sweep"] == _sim().sweep_key()).all()


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    derandomize=True,
)
@given(
    effects=st.lists(st.sampled_from([0.0, 0.5, 1.5]), min_size=1, max_size=3, unique=True),
    trials=st.lists(st.sampled_from([3, 5]), min_size=1, max_size=2, unique=True),
    n_repeats=st.integers(1, 3),
    batch_size=st.integers(1, 3),
    suffix=st.sampled_from([".csv", ".parquet"]),
    stop=st.floats(0, 1),
    cut=st.none() | st.integers(0, 2**16),
)
def test_resumed_table_equals_uninterrupted(
    effects, trials, n_repeats, batch_size, suffix, stop, cut
):
    kw = {
        "param_grid": {"effect": effects, "n_trials": trials},
        "n_repeats": n_repeats,
        "batch_size": batch_size,
    }
    full, total = _run(_sim(**kw))
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"sweep{suffix}"
        _run(_sim(**kw), path, limit=int(stop * total))
        written = _rows_on_disk(path)
        if cut is not None and suffix == ".csv" and written:
            _cut_last_record(path, np.random.default_rng(cut))
            written -= 2  # the last dataset lost its last row: both of its fits are redone
        resumed, fits = _run(_sim(**kw), path)
        assert fits == total - written
        _same_table(resumed, full)

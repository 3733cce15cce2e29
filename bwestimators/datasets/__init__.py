"""Data generators with known effects, and loaders of real data shipped in the package."""

from bwestimators.datasets._generators import (
    FakeData,
    generate_fake_lfp,
    generate_fake_spikes,
    generate_spikes_stim_strength,
    generate_spikes_stim_types,
)
from bwestimators.datasets._loaders import load_chirp_power, load_radon

__all__ = [
    "FakeData",
    "generate_fake_lfp",
    "generate_fake_spikes",
    "generate_spikes_stim_strength",
    "generate_spikes_stim_types",
    "load_chirp_power",
    "load_radon",
]

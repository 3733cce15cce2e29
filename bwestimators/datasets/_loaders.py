"""Loaders of the real datasets shipped inside the package."""

from importlib import resources

import pandas as pd


def _read(name, **kwargs):
    with resources.files("bwestimators.datasets").joinpath("data", name).open("rb") as f:
        return pd.read_csv(f, **kwargs)


def load_radon():
    """Radon in Minnesota homes: 919 homes in 85 counties.

    The classic multilevel dataset of Gelman & Hill, *Data Analysis Using
    Regression and Multilevel/Hierarchical Models* (2007), ch. 12, from the US
    EPA's radon survey (files ``srrs2.dat`` and ``cty.dat`` as published in the
    bayes-window repository, MIT license), cleaned and shipped in the package.

    Returns
    -------
    df : DataFrame
        ``county`` (name), ``floor`` (0 basement, 1 first floor), ``radon``
        (pCi/L), ``log_radon`` (``log(radon + 0.1)``), ``uranium`` (county soil
        uranium, ppm) and ``log_uranium``.

    Examples
    --------
    >>> from bwestimators.datasets import load_radon
    >>> df = load_radon()
    >>> len(df), df["county"].nunique()
    (919, 85)
    """
    return _read("radon_mn.csv", dtype={"county": object})


def load_chirp_power():
    """Closed-loop 7 Hz stimulation of prefrontal cortex: LFP power in 7 mice.

    1148 stimulation epochs (published in the bayes-window repository, MIT
    license). A real instance of the nested problem: y = ``Log power``,
    treatment = ``stim_on``, condition = ``["Stim phase", "Inversion"]``,
    group = ``Subject``.

    Returns
    -------
    df : DataFrame
        ``Subject``, ``Datetime``, ``Stim phase`` (fraction of the cycle),
        ``Inversion`` (bool), ``stim_on`` (bool), ``I stim round``, ``Tstart``,
        ``Tend``, ``Power max`` and ``Log power``.

    Examples
    --------
    >>> from bwestimators.datasets import load_chirp_power
    >>> df = load_chirp_power()
    >>> df["Subject"].nunique(), len(df)
    (7, 1148)
    """
    return _read("chirp_power.csv", dtype={"Subject": object, "Datetime": object})

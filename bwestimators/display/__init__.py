"""Display objects: figures of fitted estimators and data (matplotlib)."""

from bwestimators.display.comparison import ModelComparisonDisplay, PosteriorPredictiveDisplay
from bwestimators.display.data import DataDisplay
from bwestimators.display.diagnostics import DiagnosticsDisplay
from bwestimators.display.intercepts import InterceptDisplay
from bwestimators.display.power import PowerCurveDisplay, PowerRocDisplay
from bwestimators.display.slopes import PosteriorSlopeDisplay

__all__ = [
    "DataDisplay",
    "DiagnosticsDisplay",
    "InterceptDisplay",
    "ModelComparisonDisplay",
    "PosteriorPredictiveDisplay",
    "PosteriorSlopeDisplay",
    "PowerCurveDisplay",
    "PowerRocDisplay",
]

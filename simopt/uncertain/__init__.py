"""What a scenario does not know: ranges and distributions of its assumptions, and their draws."""

from simopt.uncertain.spec import (
    DISTRIBUTIONS,
    Correlation,
    LevelMix,
    Range,
    Uncertainties,
)

__all__ = ["DISTRIBUTIONS", "Correlation", "LevelMix", "Range", "Uncertainties"]

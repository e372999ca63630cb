"""The embedded engine: Timeloop/Sparseloop's analytical model in Python and numpy.

Pure functions, one concern per module: ``nest`` (dense tiles and accesses), ``deltas``
(Timeloop's delta simulation in closed form), ``sparse`` (density models, formats, SAFs),
``energy`` and ``cycles``; ``model`` strings them together.
"""

from .model import Evaluation, evaluate_spec

__all__ = ["Evaluation", "evaluate_spec"]

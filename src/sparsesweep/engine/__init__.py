"""The embedded engine: Timeloop/Sparseloop's analytical model in Python and numpy.

Pure functions, one concern per module: ``nest`` (dense tiles and accesses), ``deltas``
(Timeloop's delta simulation in closed form), ``sparse`` (density models, formats, SAFs),
``energy`` and ``cycles``; ``model`` strings them together.  ``context`` holds what a spec
implies without its mapping (built once per spec; ``Evaluator(spec).evaluate(mapping)`` for
many mappings of one spec).
"""

from .model import Evaluation, Evaluator, evaluate_spec

__all__ = ["Evaluation", "Evaluator", "evaluate_spec"]

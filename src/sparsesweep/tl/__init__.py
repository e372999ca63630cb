"""Timeloop-format inputs: parsing and validation into the engine's typed model.

``load_spec(bundle)`` turns a :class:`~sparsesweep.inputs.SpecBundle` (architecture,
problem, mapping, sparse optimizations, ERT) into a :class:`Spec`.  v0.3 and v0.4 tree
syntax, hyphenated and underscored keys are accepted; anything the engine does not
model is refused with a located one-line error.
"""

from .spec import Spec, load_spec

__all__ = ["Spec", "load_spec"]

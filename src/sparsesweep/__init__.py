"""sparsesweep: which kind of sparsity pays off on a DNN accelerator?

From Python (see :mod:`sparsesweep.api`)::

    import sparsesweep
    run = sparsesweep.sweep(layers=["conv1", "fc"], sparsity=[0, 0.5, 0.75], out="out/small")
    run.summary                        # network totals per point (pandas), normalised to dense
    run.claims                         # claim id -> verdict
    sparsesweep.evaluate("input.yaml").to_frame()
    sparsesweep.map(["input.yaml", "ERT.yaml"], objective="edp").mapping
"""

from . import sweep  # the sweep package, callable as the function sparsesweep.api.sweep
from .api import SweepResult, evaluate, layers, load, map  # noqa: A004
from .backends.base import SearchResult
from .result import Result

__all__ = ["Result", "SearchResult", "SweepResult", "evaluate", "layers", "load", "map", "sweep"]
__version__ = "0.1.0"

"""sparsesweep: which kind of sparsity pays off on a DNN accelerator?"""

from .api import evaluate
from .result import Result

__all__ = ["Result", "evaluate"]
__version__ = "0.1.0"

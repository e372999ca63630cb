"""Evaluation backends: the embedded engine (``native``) and real Timeloop (``timeloop``)."""

from .base import Backend, BackendRegistry, SearchOptions, SearchResult, default_registry

__all__ = ["Backend", "BackendRegistry", "SearchOptions", "SearchResult", "default_registry"]

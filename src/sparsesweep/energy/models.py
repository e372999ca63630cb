"""Component models: a small protocol, the hwcomponents implementation and a persistent cache.

A :class:`ComponentModels` turns a :class:`~.components.Component` into an :class:`Estimate`:
per-action energies (pJ), area (um^2) and the idle energy of one cycle (pJ, what a gated access
costs).  :class:`Hwcomponents` asks the installed hwcomponents models (CACTI SRAMs, Aladdin
registers and MACs, DRAM tables); :class:`CachedModels` keeps every estimate in a folder, one JSON
file per component class + attributes + model versions, written atomically, so concurrent sweeps
share it and a repeated sweep calls no model.  ``calls`` counts the estimates each object made.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
from collections import Counter
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import metadata
from pathlib import Path
from typing import Any, Protocol

import platformdirs

from ..errors import SparsesweepError
from ..fsio import write_text_atomic
from .components import Component

CACHE_ENV = "SPARSESWEEP_CACHE_DIR"
CACHE_FORMAT = 1
IDLE_CYCLE_S = 1e-9  # a gated access costs the component's leakage over one 1 GHz cycle
_PACKAGES = ("hwcomponents", "hwcomponents-cacti", "hwcomponents-library", "hwcomponents-neurosim")


class ModelError(SparsesweepError):
    """No component model could estimate a component (reported in one line, exit code 2)."""


@dataclass(frozen=True)
class Estimate:
    """What a model says about one component."""

    model: str  # the model that estimated it, e.g. SRAM (hwcomponents_cacti)
    actions: dict[str, float]  # action -> energy (pJ): read/write for stores, mac for the MAC
    area_um2: float  # area of one instance (um^2)
    idle_pj: float  # leakage over one cycle (pJ): the energy of a gated access

    def to_json(self) -> dict:
        return {"model": self.model, "actions": self.actions, "area_um2": self.area_um2, "idle_pj": self.idle_pj}

    @classmethod
    def from_json(cls, data: dict) -> Estimate:
        return cls(str(data["model"]), {str(k): float(v) for k, v in data["actions"].items()},
                   float(data["area_um2"]), float(data["idle_pj"]))


class ComponentModels(Protocol):
    """Anything that estimates components (the real models, a cache in front of them, a test fake)."""

    calls: Counter

    def estimate(self, component: Component) -> Estimate: ...

    def fingerprint(self) -> str: ...


def _import_hwcomponents() -> Any:
    """``import hwcomponents`` without its side effect on the root logger (it installs a handler and
    sets the level to INFO, which would print every INFO line of every library, e.g. Dask's)."""
    root = logging.getLogger()
    level, handlers = root.level, list(root.handlers)
    try:
        import hwcomponents
    finally:
        for handler in root.handlers[:]:
            if handler not in handlers:
                root.removeHandler(handler)
        root.setLevel(level)
    return hwcomponents


@dataclass
class Hwcomponents:
    """The installed hwcomponents models (``pip install hwcomponents hwcomponents-cacti ...``)."""

    calls: Counter = field(default_factory=Counter)

    def fingerprint(self) -> str:
        return _installed_versions()

    def estimate(self, component: Component) -> Estimate:
        try:
            hwcomponents = _import_hwcomponents()
        except ImportError as exc:  # pragma: no cover - a dependency of the package
            raise ModelError(f"{component.name}: hwcomponents is not installed ({exc})",
                             fix="pip install --no-binary hwcomponents-cacti -e . (see the README)") from exc
        self.calls[component.model_class] += 1
        try:
            model = hwcomponents.get_model(component.model_class, component.attrs())
            actions = {name: float(getattr(model, name)().energy) * 1e12 for name in _actions(component)}
            area = float(model.area) * 1e12
            idle = float(model.leak_power) * IDLE_CYCLE_S * 1e12
        except Exception as exc:  # hwcomponents raises plain exceptions carrying every model's log
            raise ModelError(f"component {component.name} ({component.describe()}): {declined(str(exc))}",
                             fix=_fix(component)) from exc
        return Estimate(f"{type(model).__name__} ({type(model).__module__.split('.')[0]})", actions, area, idle)


@dataclass
class CachedModels:
    """``models`` behind an on-disk cache (``$SPARSESWEEP_CACHE_DIR/components``) and an in-memory one."""

    models: ComponentModels
    folder: Path | None = None
    calls: Counter = field(default_factory=Counter)  # estimates not found in either cache
    _memory: dict[str | Component, Estimate] = field(default_factory=dict)

    def fingerprint(self) -> str:
        return self.models.fingerprint()

    def estimate(self, component: Component) -> Estimate:
        hit = self._memory.get(component)
        if hit is not None:
            return hit
        key = self.key(component)
        hit = self._memory.get(key)
        if hit is None:
            path = (self.folder or cache_dir()) / f"{key}.json"
            hit = _load(path)
            if hit is None:
                self.calls[component.model_class] += 1
                hit = self.models.estimate(component)
                _store(path, hit)
            self._memory[key] = hit
        self._memory[component] = hit
        return hit

    def prefetch(self, components: list[Component], workers: int | None = None) -> None:
        """Estimate the components missing from both caches, ``workers`` at a time (CACTI runs as a
        subprocess, so threads overlap its runs; default: the cores available)."""
        missing = list({c: None for c in components if c not in self._memory})
        if not missing:
            return
        workers = workers or max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 1)
        if workers == 1 or len(missing) == 1:
            for component in missing:
                self.estimate(component)
            return
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(max_workers=min(workers, len(missing))) as pool:
            for future in [pool.submit(self.estimate, c) for c in missing]:
                future.result()  # the first failure is raised here, after the others finished

    def key(self, component: Component) -> str:
        payload = {"format": CACHE_FORMAT, "class": component.model_class.lower(),
                   "attributes": [list(a) for a in component.attributes], "actions": _actions(component),
                   "models": self.models.fingerprint()}
        return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()[:32]


@lru_cache(maxsize=1)
def _installed_versions() -> str:
    versions = []
    for package in _PACKAGES:
        try:
            versions.append(f"{package}={metadata.version(package)}")
        except metadata.PackageNotFoundError:
            versions.append(f"{package}=none")
    return ";".join(versions)


def cache_dir() -> Path:
    root = os.environ.get(CACHE_ENV)
    base = Path(root).expanduser() if root else Path(platformdirs.user_cache_dir("sparsesweep"))
    return base / "components"


def declined(text: str) -> str:
    """hwcomponents' multi-line "no model" report -> one clause: each model tried and why it declined."""
    if "is not supported by any models" in text:
        first = text.splitlines()[0]
        name = first.split(" is not supported")[0].removeprefix("Component ").strip()
        similar = re.findall(r"^\t\t(\S+)$", text, re.M)
        hint = f"; similar names: {', '.join(similar)}" if similar else ""
        return f"no installed model is named '{name}' (hwc --list shows the names){hint}"
    reasons: list[str] = []
    model, why = None, None
    for line in text.splitlines():
        head = re.match(r"^\| (\S+) with priority ([\d.]+) estimating value:", line)
        if head:
            if model is not None and model not in {r.split(":")[0] for r in reasons}:
                reasons.append(f"{model}: {why or 'declined'}")
            model, why = head.group(1), None
            continue
        if line.startswith("Why models did not estimate"):
            break
        err = re.match(r"^\|  \| (\w*(?:Error|Exception)): (.*)$", line)
        if model is not None and err and why is None:
            why = f"{err.group(1)}: {err.group(2).strip()}"
    if model is not None and model not in {r.split(":")[0] for r in reasons}:
        reasons.append(f"{model}: {why or 'declined'}")
    if not reasons:
        return " ".join(text.split())[:300]
    return "no model could estimate it; tried " + "; ".join(reasons)


def _actions(component: Component) -> list[str]:
    return ["mac"] if component.part == "compute" else ["read", "write"]


def _fix(component: Component) -> str:
    if component.level == "DRAM":
        return "use a dram_type and dram_width_bits a model supports (e.g. LPDDR4 with 64 bits), or --energy pinned"
    if component.model_class == "sram":
        return (f"change the {component.level} {component.part} geometry (width / depth / banks), or use "
                "--energy pinned")
    return "change the parameter named above, or use --energy pinned"


def _load(path: Path) -> Estimate | None:
    try:
        return Estimate.from_json(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError, KeyError, TypeError):
        return None  # missing or unreadable entries are re-estimated


def _store(path: Path, estimate: Estimate) -> None:
    try:
        write_text_atomic(path, json.dumps(estimate.to_json()))
    except OSError:
        pass  # a cache that cannot be written only costs time

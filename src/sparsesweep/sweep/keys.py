"""Content hashes that key the sweep cache.

* ``input_hash``: SHA-256 of a point's rendered Timeloop inputs (``input.yaml``, ``ERT.yaml``).
* ``result_key``: the input hash + backend + search options (objective, time limit, seed) + the
  code fingerprint.  A cached result is reused only under the same key, so any change to the
  rendered inputs, the search settings or the package's code recomputes the point.
* ``spec_key``: a hash of everything rendering depends on (arch parameters after ``--set``, the
  ERT file's bytes, the layer, the scheme, sides, sparsities, mapper settings, the templates and the
  code fingerprint).  It lets a warm sweep find a point's input hash without rendering it again.
* ``code_fingerprint``: the package version + the bytes of every module that renders or evaluates
  (all of ``sparsesweep`` except the sweep driver and the CLI commands) + the templates.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .. import __version__
from ..backends.base import SearchOptions
from ..energy.ert import Energies
from ..specs.mapper import MapperSettings
from ..specs.paths import templates_dir
from .grid import PlannedPoint
from .store import Keyed, canonical, keyed, payload_key

PACKAGE = Path(__file__).resolve().parents[1]
_NOT_IN_FINGERPRINT = ("sweep", "commands")


def digest(payload: Any) -> str:
    """SHA-256 (hex) of a JSON-able value, independent of dict order (a store key: see ``payload_key``)."""
    return payload_key(payload)


def code_fingerprint() -> str:
    """Hash of the package version, the rendering/evaluating modules and the templates."""
    h = hashlib.sha256(__version__.encode())
    files = [p for p in sorted(PACKAGE.rglob("*.py")) if p.relative_to(PACKAGE).parts[0] not in _NOT_IN_FINGERPRINT]
    templates = templates_dir()
    files += sorted(p for p in templates.rglob("*") if p.is_file())
    for path in files:
        h.update(str(path.name).encode() + b"\0" + path.read_bytes() + b"\0")
    return h.hexdigest()


def input_hash(files: Mapping[str, str]) -> str:
    h = hashlib.sha256()
    for name in sorted(files):
        h.update(name.encode() + b"\0" + files[name].encode() + b"\0")
    return h.hexdigest()


def file_digest(path: Path, memo: dict[Any, Any]) -> str:
    """SHA-256 of a file's bytes (memoised per sweep in ``memo``)."""
    if path not in memo:
        memo[path] = hashlib.sha256(path.read_bytes()).hexdigest()
    return memo[path]


def spec_key(point: PlannedPoint, mapper: MapperSettings, fingerprint: str, memo: dict[Any, Any],
             energies: Mapping[str, Any] | None = None) -> str:
    """``energies``: the point's energy source and ERT when they come from the sweep's energy plan."""
    return digest(spec_payload(point, mapper, fingerprint, memo, energies))


def spec_payload(point: PlannedPoint, mapper: MapperSettings, fingerprint: str, memo: dict[Any, Any],
                 energies: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Everything a point's rendering depends on (its ``spec_key`` is the digest of this).  ``memo``
    (one per sweep) keeps the JSON of the arch, layer, scheme and mapper objects the points share."""
    variant = point.variant
    extra: dict[str, Any] = {"energies": energies} if energies is not None else {}
    if variant.act_from_workload:
        extra["act_from_workload"] = True
    dense = variant.scheme.kind == "dense"
    ert = _memo(memo, ("ert", dense), point.arch, lambda: file_digest(point.arch.ert_path(dense=dense), memo))
    return ({**extra,
        "arch": _dump(memo, point.arch), "ert": ert, "layer": _dump(memo, point.layer),
        "scheme": _dump(memo, variant.scheme),
        "sides": variant.sides, "sparsity": variant.sparsity, "act_sparsity": variant.act_sparsity,
        "mapper": _dump(memo, mapper), "code": fingerprint,
    })


def spec_keyed(point: PlannedPoint, mapper: MapperSettings, fingerprint: str, memo: dict[Any, Any],
               energies: Energies | None = None) -> Keyed:
    """:func:`spec_payload` with its key (``energies``: the point's tables from the sweep's energy plan).
    Its canonical text is put together from the texts of its parts, each encoded once per sweep."""
    table = None if energies is None else _memo(memo, "energies", energies,
                                                lambda: {"source": energies.source, **energies.ert})
    payload = spec_payload(point, mapper, fingerprint, memo, table)
    return keyed(payload, "{" + ",".join(f"{json.dumps(name)}:{_text(memo, payload[name])}"
                                         for name in sorted(payload)) + "}")


def _text(memo: dict[Any, Any], value: Any) -> str:
    """``canonical(value)``; once per sweep for the dicts the points share (held in ``memo``)."""
    if isinstance(value, dict):
        return _memo(memo, "text", value, lambda: canonical(value))
    return canonical(value)


def _dump(memo: dict[Any, Any], model: Any) -> Any:
    """``model.model_dump(mode="json")``, once per object and sweep (specs are immutable once built)."""
    return _memo(memo, "dump", model, lambda: model.model_dump(mode="json"))


def _memo(memo: dict[Any, Any], what: Any, obj: Any, make: Any) -> Any:
    slot = (what, id(obj))
    held = memo.get(slot)
    if held is None or held[0] is not obj:  # (the object is held, so its id is not reused meanwhile)
        held = memo[slot] = (obj, make())
    return held[1]


def result_keyed(inputs: str, backend: str, options: SearchOptions, fingerprint: str) -> Keyed:
    return keyed(result_payload(inputs, backend, options, fingerprint))


def result_key(inputs: str, backend: str, options: SearchOptions, fingerprint: str) -> str:
    return digest(result_payload(inputs, backend, options, fingerprint))


def result_payload(inputs: str, backend: str, options: SearchOptions, fingerprint: str) -> dict[str, Any]:
    """What a point's search outcome depends on (its ``result_key`` is the digest of this)."""
    return {"inputs": inputs, "backend": backend, "objective": options.objective,
            "time_limit_s": options.time_limit_s, "seed": options.seed, "code": fingerprint}


def mapping_id(mapping: Any) -> str:
    """A short id of a mapping (equal mappings, equal ids)."""
    return digest(mapping)[:12]

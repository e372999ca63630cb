"""Shared helpers for reading raw Timeloop YAML: key normalisation, typed access, errors."""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from ..errors import SpecError, suggest
from ..inputs import SpecBundle

Path = tuple[str | int, ...]

# Larger integers overflow the engine's fixed-width counts (int64); no real dimension or size is near it.
MAX_INTEGER = 2**40

_YAML12_FLOAT = re.compile(r"^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$")
# A quoted integer ('512'): Timeloop's YAML reader converts it like a plain one (quotes do not matter
# to it), so it is read the same here; leading zeros are refused (Timeloop would read '010' as octal).
_DECIMAL_INTEGER = re.compile(r"^[-+]?(0|[1-9][0-9]*)$")

# Mappings whose keys are user names (dataspaces, dimensions), not schema keys.
_NAME_KEYED = {"densities", "instance"}


def norm_key(key: str) -> str:
    """Timeloop treats ``-`` and ``_`` in keys as the same (v0.3 hyphens are deprecated)."""
    return key.replace("-", "_")


def norm_word(value: str) -> str:
    """Enumerated values too: ``fixed-structured`` == ``fixed_structured``; case-insensitive."""
    return value.replace("-", "_").lower()


def normalize(data: Any, parent: str | None = None) -> Any:
    """A copy of ``data`` with every schema key normalised (see :func:`norm_key`)."""
    if isinstance(data, Mapping):
        keyed_by_name = parent in _NAME_KEYED
        out = {}
        for key, value in data.items():
            skey = str(key)
            nkey = skey if keyed_by_name else norm_key(skey)
            out[nkey] = normalize(value, nkey)
        return out
    if isinstance(data, list):
        return [normalize(v, parent) for v in data]
    return data


class Reader:
    """Typed, located access to the raw documents of one bundle."""

    def __init__(self, bundle: SpecBundle) -> None:
        self.bundle = bundle

    # -- errors -------------------------------------------------------------------------
    def error(self, path: Path, what: str, fix: str | None = None) -> SpecError:
        return self.bundle.error(what, self._original(path), fix)

    def original_key(self, path: Path) -> str | int | None:
        """The last key of a normalised key path as spelled in the file (None: not there)."""
        original = self._original(path)
        return original[-1] if original else None

    def _original(self, path: Path) -> Path:
        """Map a normalised key path back to the keys as spelled in the file."""
        node: Any = self.bundle.data
        out: list[str | int] = []
        for part in path:
            if isinstance(part, int) and isinstance(node, list) and part < len(node):
                out.append(part)
                node = node[part]
                continue
            if isinstance(node, Mapping):
                match = next((k for k in node if norm_key(str(k)) == part), None)
                if match is not None:
                    out.append(match)
                    node = node[match]
                    continue
            out.append(part)
            node = None
        return tuple(out)

    # -- typed access -------------------------------------------------------------------
    def mapping(self, value: Any, path: Path) -> Mapping[str, Any]:
        if value is None:
            return {}
        if not isinstance(value, Mapping):
            raise self.error(path, f"expected a mapping, got {type(value).__name__}",
                             "write it as 'key: value' lines")
        return value

    def seq(self, value: Any, path: Path) -> list[Any]:
        if value is None:
            return []
        if not isinstance(value, list):
            raise self.error(path, f"expected a list, got {type(value).__name__}", "write it as '- item' lines")
        return value

    def check_keys(self, data: Mapping[str, Any], path: Path, allowed: Iterable[str]) -> None:
        allowed = set(allowed)
        for key in data:
            if key not in allowed:
                raise self.error(path + (key,), f"unknown key '{key}'", suggest(key, allowed))

    def require(self, data: Mapping[str, Any], key: str, path: Path) -> Any:
        if key not in data or data[key] is None:
            raise self.error(path + (key,), f"missing required key '{key}'", f"add '{key}:'")
        return data[key]

    def integer(self, value: Any, path: Path, minimum: int | None = None) -> int:
        if isinstance(value, str) and _DECIMAL_INTEGER.match(value.rstrip()):
            value = int(value)
        if (isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value)
                or int(value) != value):
            raise self.error(path, f"expected an integer, got {value!r}", "use a whole number")
        value = int(value)
        if minimum is not None and value < minimum:
            raise self.error(path, f"must be >= {minimum}, got {value}", f"use a value >= {minimum}")
        if abs(value) > MAX_INTEGER:
            raise self.error(path, f"{value} is out of range (at most {MAX_INTEGER:.0e})", "use a realistic value")
        return value

    def number(self, value: Any, path: Path, minimum: float | None = None, positive: bool = False,
               maximum: float | None = None) -> float:
        """A finite number (``true``/``yes`` are not numbers); ``minimum``/``positive`` bound it.

        ``1e-12`` is a string to YAML 1.1 (no dot) but a number to Timeloop's YAML 1.2 reader: so is it here,
        and so is a quoted number (``'2.5'``), which Timeloop reads as the number too."""
        if isinstance(value, str) and _YAML12_FLOAT.match(value.strip()):
            value = float(value)
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise self.error(path, f"expected a number, got {value!r}", "use a plain number")
        if not math.isfinite(value):
            raise self.error(path, f"expected a finite number, got {value!r}", "use a plain finite number")
        if positive and not value > 0:
            raise self.error(path, f"must be > 0, got {value!r}", "use a positive number (omit the key for unlimited)"
                             if "bandwidth" in str(path[-1]) else "use a positive number")
        if minimum is not None and value < minimum:
            raise self.error(path, f"must be >= {minimum:g}, got {value!r}", f"use a value >= {minimum:g}")
        if maximum is not None and value > maximum:
            raise self.error(path, f"must be <= {maximum:g}, got {value!r}", "check the unit (pJ per action)")
        return float(value)

    def string(self, value: Any, path: Path) -> str:
        if not isinstance(value, str) or not value:
            raise self.error(path, f"expected a name, got {value!r}", "use a non-empty string")
        return value

    def str_list(self, value: Any, path: Path) -> list[str]:
        items = self.seq(value, path)
        return [self.string(v, path + (i,)) for i, v in enumerate(items)]

    def choice(self, value: Any, path: Path, choices: Sequence[str]) -> str:
        word = norm_word(self.string(value, path))
        if word not in choices:
            raise self.error(path, f"unsupported value '{value}'", suggest(word, choices))
        return word


_RANGE = re.compile(r"^(?P<base>[^\[\]]+)\[(?P<lo>\d+)\.\.(?P<hi>\d+)\]$")


def split_name(name: str) -> tuple[str, int]:
    """``PE[0..255]`` -> (``PE``, 256); ``DRAM`` -> (``DRAM``, 1)."""
    match = _RANGE.match(name.strip())
    if not match:
        return name.strip(), 1
    lo, hi = int(match["lo"]), int(match["hi"])
    return match["base"], max(hi - lo + 1, 0)

"""The per-point folders under ``<out>/points/``: the rendered Timeloop inputs of every point.

Each folder holds ``input.yaml`` and ``ERT.yaml`` (re-run the search with
``timeloop-mapper input.yaml ERT.yaml``) and, once the point has a mapping, ``mapping.yaml``
(re-evaluate exactly that mapping with ``timeloop-model input.yaml ERT.yaml mapping.yaml``).
A marker file records the result key the folder was written for, so a warm sweep skips folders
that are already up to date.  Which folders a sweep may remove is recorded by :mod:`.outdir`.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any

from ..errors import SpecError
from ..yamlio import dump_yaml

POINTS = "points"
MARKER = ".sweep-point"
MAPPING_FILE = "mapping.yaml"


def point_dir(out: Path, point_id: str) -> Path:
    return out / POINTS / point_id


def is_current(out: Path, point_id: str, key: str, status: str) -> bool:
    try:
        with open(os.path.join(out, POINTS, point_id, MARKER), "rb") as handle:  # (once per point: no pathlib)
            marker = json.loads(handle.read())
    except (OSError, ValueError):
        return False
    return isinstance(marker, dict) and marker.get("key") == key and marker.get("status") == status


def write_point(out: Path, point_id: str, files: Mapping[str, str], key: str, record: Mapping[str, Any] | None) -> None:
    """Write a point's inputs (and its mapping when ``record`` has one); the marker goes last."""
    folder = point_dir(out, point_id)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        (folder / MARKER).unlink(missing_ok=True)
        for name, text in files.items():
            (folder / name).write_text(text, encoding="utf-8")
        mapping_path = folder / MAPPING_FILE
        if record is None:
            return
        if record.get("status") == "ok":
            header = (f"# mapping found by the sweep for {point_id}; re-evaluate with: "
                      f"timeloop-model input.yaml ERT.yaml {MAPPING_FILE}\n")
            mapping_path.write_text(header + mapping_yaml(record["mapping"]), encoding="utf-8")
        else:
            mapping_path.unlink(missing_ok=True)
        (folder / MARKER).write_text(json.dumps({"key": key, "status": record.get("status")}), encoding="utf-8")
    except OSError as exc:
        raise SpecError(f"cannot write the point's inputs: {exc.strerror or exc}", file=folder, key="--out",
                        fix="choose a writable output folder") from None


def mapping_yaml(mapping: Any) -> str:
    """``dump_yaml({"mapping": mapping})``, each entry dumped once per process: points share most of
    their entries, and the YAML of a list in a mapping is its entries' YAML one after another."""
    if not (isinstance(mapping, list) and mapping and all(isinstance(e, dict) for e in mapping)):
        return dump_yaml({"mapping": mapping})
    try:
        keys = [json.dumps(entry) for entry in mapping]
    except (TypeError, ValueError):
        return dump_yaml({"mapping": mapping})
    return "mapping:\n" + "".join(_entry_yaml(key) for key in keys)


@lru_cache(maxsize=4096)
def _entry_yaml(entry: str) -> str:
    return dump_yaml([json.loads(entry)])

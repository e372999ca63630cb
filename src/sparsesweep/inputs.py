"""Timeloop-format input bundles: the files that describe one evaluation point.

Timeloop itself takes any number of YAML files and merges their top-level keys
(``architecture``, ``problem``, ``mapping``, ``sparse_optimizations``, ``ERT``,
``architecture_constraints``, ...).  :func:`load_bundle` does the same: a path may be
a file or a folder (every ``*.yaml``/``*.yml`` in it), and an ``ERT.yaml`` beside an
input file is picked up.  A bundle remembers which file each top-level key came
from, so later errors can point at the right file and line.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import SpecError
from .yamlio import YamlDoc, dump_yaml, load_yaml, parse_yaml

YAML_SUFFIXES = (".yaml", ".yml")


@dataclass(frozen=True)
class SpecBundle:
    """Merged top-level Timeloop documents for one point, with their sources."""

    name: str
    data: Mapping[str, Any]
    sources: Mapping[str, YamlDoc] = field(default_factory=dict)  # top-level key -> document

    def doc_for(self, top_key: str) -> YamlDoc:
        """The document that defined ``top_key`` (a stand-in if it was built in memory)."""
        doc = self.sources.get(top_key)
        if doc is None:
            doc = YamlDoc(path=Path(f"<{self.name}>"), data=self.data)
        return doc

    def error(self, what: str, key: Sequence[str | int], fix: str | None = None) -> SpecError:
        """A located error for ``key`` (whose first element is a top-level key)."""
        return self.doc_for(str(key[0])).error(what, key, fix)

    def files(self) -> list[Path]:
        """The distinct files the bundle was read from."""
        return sorted({doc.path for doc in self.sources.values() if doc.path.exists()})

    def to_yaml(self, keys: Iterable[str] | None = None) -> str:
        """The merged inputs as one YAML text (optionally only some top-level keys)."""
        wanted = list(self.data) if keys is None else [k for k in keys if k in self.data]
        return dump_yaml({k: self.data[k] for k in wanted})

    def with_data(self, **updates: Any) -> SpecBundle:
        """A copy with some top-level keys replaced (``None`` removes a key)."""
        data = {k: v for k, v in self.data.items() if k not in updates}
        data.update({k: v for k, v in updates.items() if v is not None})
        sources = {k: v for k, v in self.sources.items() if k in data and k not in updates}
        return SpecBundle(name=self.name, data=data, sources=sources)


def bundle_from_docs(name: str, docs: Iterable[YamlDoc]) -> SpecBundle:
    """Merge documents; a top-level key defined twice is an error."""
    data: dict[str, Any] = {}
    sources: dict[str, YamlDoc] = {}
    for doc in docs:
        if doc.data is None:
            continue
        if not isinstance(doc.data, dict):
            raise doc.error(
                "the file must be a YAML mapping of top-level keys",
                fix="start it with e.g. 'architecture:' or 'problem:'",
            )
        for key, value in doc.data.items():
            if key in data:
                raise doc.error(
                    f"top-level key '{key}' is also defined in {sources[key].path}",
                    (key,),
                    fix="keep it in one file only",
                )
            data[key] = value
            sources[key] = doc
    return SpecBundle(name=name, data=data, sources=sources)


def bundle_from_text(text: str, name: str = "<string>") -> SpecBundle:
    """A bundle from one YAML text (used by tests and the renderer)."""
    return bundle_from_docs(name, [parse_yaml(text, name)])


def load_bundle(path: Path | str, extra: Sequence[Path | str] = ()) -> SpecBundle:
    """Load one point from a file or folder (plus ``extra`` files, e.g. ``--ert``)."""
    path = Path(path)
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.suffix in YAML_SUFFIXES and p.is_file())
        if not files:
            raise SpecError("no YAML files in folder", file=path, fix="point at a folder with input YAML")
    elif path.is_file():
        files = [path]
    else:
        raise SpecError("no such file or folder", file=path, fix="check the path")
    docs = [load_yaml(p) for p in files]
    if path.is_file() and not any(isinstance(d.data, dict) and "ERT" in d.data for d in docs):
        ert = path.parent / "ERT.yaml"
        if ert.is_file() and ert.resolve() != path.resolve():
            docs.append(load_yaml(ert))
    extra_docs = [load_yaml(p) for p in extra]
    if extra_docs:
        # An explicit --ert replaces an ERT found beside the input.
        explicit = {k for d in extra_docs if isinstance(d.data, dict) for k in d.data}
        docs = [d for d in docs if not (isinstance(d.data, dict) and set(d.data) <= explicit)]
    return bundle_from_docs(path.name if path.is_dir() else path.stem, docs + extra_docs)


def expand_paths(paths: Iterable[Path | str]) -> list[Path]:
    """Evaluate targets: each folder that holds YAML directly, or each given file.

    A folder without YAML of its own is searched recursively for case folders (folders
    with an ``input.yaml`` or at least one YAML file), so ``evaluate reference/fig15``
    walks every case.
    """
    out: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir() and not any(p.suffix in YAML_SUFFIXES for p in path.iterdir()):
            found = sorted({p.parent for p in path.rglob("*") if p.suffix in YAML_SUFFIXES})
            if not found:
                raise SpecError("no YAML files under folder", file=path, fix="point at input files")
            out.extend(found)
        else:
            out.append(path)
    return out

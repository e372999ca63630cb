"""Timeloop-format input bundles: the files that describe one evaluation point.

Timeloop itself takes any number of YAML files and merges their top-level keys
(``architecture``, ``problem``, ``mapping``, ``sparse_optimizations``, ``ERT``,
``architecture_constraints``, ...).  :func:`load_bundle` does the same: a path may be
a file or a folder (every ``*.yaml``/``*.yml`` in it), and an ``ERT.yaml`` beside an
input file is picked up.  A bundle remembers which file each top-level key came
from, so later errors can point at the right file and line.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from .errors import SpecError
from .fsio import not_a_file
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


def load_bundle(path: Path | str | Sequence[Path | str], extra: Sequence[Path | str] = ()) -> SpecBundle:
    """Load one point from a file, a folder, or several files merged (Timeloop's
    ``input.yaml ERT.yaml mapping.yaml``), plus ``extra`` files (``--ert``, ``--mapping``) whose
    top-level keys replace those of the inputs."""
    paths = [Path(path)] if isinstance(path, (str, Path)) else [Path(p) for p in path]
    files: list[Path] = []
    for one in paths:
        if one.is_dir():
            found = sorted(p for p in one.iterdir() if p.suffix in YAML_SUFFIXES and p.is_file())
            if not found:
                raise SpecError("no YAML files in folder", file=one, fix="point at a folder with input YAML")
            files += found
        elif one.is_file():
            files.append(one)
        else:
            problem = not_a_file(one)
            raise SpecError("no such file or folder" if problem == "not found" else problem, file=one,
                            fix="check the path" if problem == "not found" else "give an input YAML file or a folder")
    docs = [load_yaml(p) for p in files]
    first = paths[0]
    if first.is_file() and not any(isinstance(d.data, dict) and "ERT" in d.data for d in docs):
        ert = first.parent / "ERT.yaml"
        if ert.is_file() and ert.resolve() not in {f.resolve() for f in files}:
            docs.append(load_yaml(ert))
    extra_docs = [load_yaml(p) for p in extra]
    explicit = {k for d in extra_docs if isinstance(d.data, dict) for k in d.data}
    if explicit:  # an explicit --ert / --mapping replaces what the inputs (or a file beside them) define
        docs = [_without(d, explicit) for d in docs]
    return bundle_from_docs(_bundle_name(paths), [d for d in docs if d.data != {}] + extra_docs)


def _without(doc: YamlDoc, keys: set[str]) -> YamlDoc:
    if not isinstance(doc.data, dict) or not keys & set(doc.data):
        return doc
    return replace(doc, data={k: v for k, v in doc.data.items() if k not in keys})


def _bundle_name(paths: Sequence[Path]) -> str:
    if len(paths) == 1:
        return paths[0].name if paths[0].is_dir() else paths[0].stem
    parents = {p.resolve().parent for p in paths}
    return parents.pop().name if len(parents) == 1 else paths[0].stem


@dataclass(frozen=True)
class Target:
    """What one evaluation reads: a folder, a file, or several files merged into one spec."""

    paths: tuple[Path, ...]

    @property
    def label(self) -> str:
        return " ".join(str(p) for p in self.paths)

    @property
    def anchor(self) -> Path:
        """The folder or file; for merged files their folder when they share one (names output folders)."""
        parents = {p.parent for p in self.paths}
        return parents.pop() if len(self.paths) > 1 and len(parents) == 1 else self.paths[0]

    def load(self, extra: Sequence[Path | str] = ()) -> SpecBundle:
        return load_bundle(self.paths, extra)


def expand_targets(paths: Sequence[Path | str]) -> list[Target]:
    """The evaluation targets of a command line.

    Several files whose top-level keys do not overlap are one spec, merged as ``timeloop-model
    input.yaml ERT.yaml mapping.yaml`` merges them (in any order).  Files that each define a whole
    spec (an ``architecture`` apiece), and folders, are separate targets (see :func:`expand_paths`).
    """
    given = [Path(p) for p in paths]
    if len(given) > 1 and all(p.is_file() for p in given):
        keys = [(p, _top_keys(p)) for p in given]
        owner: dict[str, Path] = {}
        clash: tuple[str, Path, Path] | None = None
        for path, names in keys:
            for name in names:
                if name in owner and clash is None:
                    clash = (name, owner[name], path)
                owner.setdefault(name, path)
        if clash is None:
            return [Target(tuple(given))]
        if not all("architecture" in names for _, names in keys):
            name, first, second = clash
            raise SpecError(f"top-level key '{name}' is defined in {first} and in {second}", file=second, key=name,
                            fix="give one spec's files (merged as timeloop-model merges them) or several whole specs, "
                                "each with its own architecture")
    return [Target((p,)) for p in expand_paths(given)]


def _top_keys(path: Path) -> list[str]:
    data = load_yaml(path).data
    return [str(k) for k in data] if isinstance(data, dict) else []


MAX_WALK_FOLDERS = 5_000  # a folder of cases is searched this far, and no further
MAX_WALK_DEPTH = 12


def expand_paths(paths: Iterable[Path | str]) -> list[Path]:
    """Evaluate targets: each folder that holds YAML directly, or each given file.

    A folder without YAML of its own is searched recursively for case folders (folders
    with an ``input.yaml`` or at least one YAML file), so ``evaluate reference/fig15``
    walks every case.  The search is bounded (``MAX_WALK_FOLDERS`` folders, ``MAX_WALK_DEPTH``
    levels, no symbolic links, no hidden folders): ``evaluate /`` is an error, not a walk of the disk.
    """
    out: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir() and not any(p.suffix in YAML_SUFFIXES for p in _entries(path)):
            found = _case_folders(path)
            if not found:
                raise SpecError("no YAML files under folder", file=path, fix="point at input files")
            out.extend(found)
        else:
            out.append(path)
    return out


def _entries(folder: Path) -> list[Path]:
    try:
        return list(folder.iterdir())
    except OSError as exc:
        raise SpecError(f"cannot read folder: {exc.strerror or exc}", file=folder, fix="check the path") from None


def _case_folders(root: Path) -> list[Path]:
    found: set[Path] = set()
    stack, visited = [(root, 0)], 0
    while stack:
        folder, depth = stack.pop()
        visited += 1
        if visited > MAX_WALK_FOLDERS or depth > MAX_WALK_DEPTH:
            raise SpecError(f"more than {MAX_WALK_FOLDERS} folders or {MAX_WALK_DEPTH} levels under this folder "
                            "without reaching its cases", file=root,
                            fix="point at a case folder, or a folder of case folders")
        try:
            with os.scandir(folder) as entries:
                for entry in entries:
                    if entry.name.startswith("."):
                        continue
                    if entry.is_dir(follow_symlinks=False):
                        stack.append((Path(entry.path), depth + 1))
                    elif Path(entry.name).suffix in YAML_SUFFIXES:
                        found.add(folder)
        except OSError:
            continue  # unreadable: not a case
    return sorted(found)

"""Where the user-editable data folders live.

The folders ``arch/``, ``workloads/``, ``sparse_opt/`` and ``templates/`` sit at the top of the
repository (they are data, not code).  They are found, in this order, under

1. ``$SPARSESWEEP_ROOT`` (a folder that holds them),
2. the current working directory, when it holds a ``templates/`` folder,
3. the repository this package was installed from (``pip install -e .`` keeps the package
   in ``<repo>/src/sparsesweep``).
"""

from __future__ import annotations

import os
from pathlib import Path

from ..errors import SpecError, suggest
from ..fsio import not_a_file

ROOT_ENV = "SPARSESWEEP_ROOT"
DATA_FOLDERS = ("arch", "workloads", "sparse_opt", "templates")
YAML_SUFFIXES = (".yaml", ".yml")


def _is_root(path: Path) -> bool:
    return (path / "templates").is_dir()


def data_root() -> Path:
    """The folder that holds ``arch/``, ``workloads/``, ``sparse_opt/`` and ``templates/``."""
    env = os.environ.get(ROOT_ENV)
    if env:
        root = Path(env).expanduser()
        if not _is_root(root):
            raise SpecError(
                f"${ROOT_ENV} points at {root}, which has no templates/ folder",
                fix="point it at the sparsesweep repository (the folder with arch/ and templates/)",
            )
        return root
    cwd = Path.cwd()
    if _is_root(cwd):
        return cwd
    repo = Path(__file__).resolve().parents[3]
    if _is_root(repo):
        return repo
    raise SpecError(
        "cannot find the sparsesweep data folders (arch/, templates/, ...)",
        fix=f"run from the repository, or set ${ROOT_ENV} to it",
    )


def templates_dir() -> Path:
    return data_root() / "templates"


def resolve_named(value: str | Path, folder: str, what: str, key: str | None = None) -> Path:
    """A file given as a path, or as a bare name looked up in ``<root>/<folder>/``.

    ``structured`` -> ``sparse_opt/structured.yaml``; ``arch/stc.yaml`` -> that path (relative to
    the working directory, else to the data root).  ``key``: the option errors name (``--<what>``).
    """
    key = key or f"--{what}"
    path = Path(value).expanduser()
    if path.is_file():
        return path
    root = data_root()
    if not path.is_absolute() and (root / path).is_file():
        return root / path
    if path.suffix == "" and len(path.parts) == 1:
        for suffix in YAML_SUFFIXES:
            cand = root / folder / f"{path.name}{suffix}"
            if cand.is_file():
                return cand
        names = available_names(folder)
        raise SpecError(f"unknown {what} '{value}'", key=key,
                        fix=suggest(str(value), names) if names else f"add {folder}/{value}.yaml")
    problem = not_a_file(path) or "not found"
    raise SpecError(problem if problem != "not found" else "file not found", file=path, key=key,
                    fix=f"give {'an' if what[:1] in 'aeiou' else 'a'} {what} YAML file" if problem != "not found" else "check the path")


def available_names(folder: str) -> list[str]:
    """Names (file stems) of the YAML files in ``<root>/<folder>/``."""
    base = data_root() / folder
    if not base.is_dir():
        return []
    return sorted(p.stem for p in base.iterdir() if p.suffix in YAML_SUFFIXES and p.is_file())

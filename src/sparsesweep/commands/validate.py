"""``sparsesweep validate``: check arch, workload, scheme and ERT files."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

from ..clitools import with_examples
from ..errors import SparsesweepError, SpecError
from ..inputs import YAML_SUFFIXES
from ..specs.arch import arch_from_doc
from ..specs.ert import ert_for_arch, ert_from_doc, load_ert_cached
from ..specs.scheme import scheme_from_doc
from ..specs.workload import workload_from_doc
from ..yamlio import YamlDoc, load_yaml

HELP = "Check arch/, workloads/, sparse_opt/ and arch/ert/ files; one line per file."
KINDS = ("arch", "workload", "scheme", "ert")
_FOLDER_KIND = {"arch": "arch", "workloads": "workload", "sparse_opt": "scheme", "ert": "ert"}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.epilog = with_examples(
        "The kind of each file is read from its keys (topology -> arch, layers -> workload, kind -> scheme, "
        "ERT -> energy table), else from its folder. Exit code 0 when all are valid, 2 otherwise.",
        ("sparsesweep validate arch workloads sparse_opt", "sparsesweep validate my_arch.yaml --kind arch"))
    parser.add_argument("files", nargs="+", metavar="FILE",
                        help="files or folders to check (folders: every *.yaml in them, recursively)")
    parser.add_argument("--kind", choices=KINDS, default=None,
                        help="treat every file as this kind instead of guessing it")


def run(args: argparse.Namespace) -> int:
    debug = getattr(args, "debug", False)
    failed = 0
    for path in _expand(args.files):
        try:
            summary = validate_file(path, args.kind)
        except SparsesweepError as exc:
            if debug:
                raise
            print(f"error: {exc.one_line()}", file=sys.stderr)
            failed += 1
            continue
        print(f"ok: {path}: {summary}")
    return 2 if failed else 0


def validate_file(path: Path, kind: str | None = None) -> str:
    """Validate one file; returns a one-line summary or raises :class:`SpecError`."""
    doc = load_yaml(path)
    kind = kind or guess_kind(doc)
    checker: dict[str, Callable[[YamlDoc], str]] = {
        "arch": _check_arch, "workload": _check_workload, "scheme": _check_scheme, "ert": _check_ert}
    return checker[kind](doc)


def guess_kind(doc: YamlDoc) -> str:
    """arch / workload / scheme / ert from the document's keys, else from its folder."""
    if isinstance(doc.data, dict):
        for key, kind in (("layers", "workload"), ("ERT", "ert"), ("topology", "arch"), ("kind", "scheme")):
            if key in doc.data:
                return kind
    folder = doc.path.resolve().parent.name
    if folder in _FOLDER_KIND:
        return _FOLDER_KIND[folder]
    raise doc.error("cannot tell whether this is an arch, workload, scheme or ERT file",
                    fix="pass --kind arch|workload|scheme|ert")


def _check_arch(doc: YamlDoc) -> str:
    arch = arch_from_doc(doc)
    for dense in ((False, True) if arch.dense_ert else (False,)):
        ert, ert_doc = load_ert_cached(arch.ert_path(dense))
        _, warnings = ert_for_arch(ert, ert_doc, arch)
        for warning in warnings:
            print(f"warning: {warning}", file=sys.stderr)
    return (f"arch '{arch.name}' ({arch.topology} topology, {arch.cores} cores x {arch.pes_per_core} PEs = "
            f"{arch.macs} MACs, SMEM {arch.smem_kib} KiB + {arch.smem_metadata_kib} KiB metadata)")


def _check_workload(doc: YamlDoc) -> str:
    workload = workload_from_doc(doc)
    instances = sum(layer.repeat for layer in workload.layers)
    return (f"workload '{workload.name}' ({len(workload.layers)} layer shapes, {instances} instances, "
            f"{workload.total_macs:,} MACs)")


def _check_scheme(doc: YamlDoc) -> str:
    scheme = scheme_from_doc(doc)
    return f"scheme '{scheme.name}' ({scheme.kind}, {scheme.saf}, {scheme.topology} topology)"


def _check_ert(doc: YamlDoc) -> str:
    ert = ert_from_doc(doc)
    return f"energy table ({len(ert.ERT.tables)} levels: {', '.join(t.level for t in ert.ERT.tables)})"


def _expand(items: list[str]) -> list[Path]:
    out: list[Path] = []
    for item in items:
        path = Path(item)
        if path.is_dir():
            found = sorted(p for p in path.rglob("*") if p.suffix in YAML_SUFFIXES and p.is_file())
            if not found:
                raise SpecError("no YAML files in folder", file=path, fix="point at arch/, workloads/ or sparse_opt/")
            out.extend(found)
        else:
            out.append(path)
    return out

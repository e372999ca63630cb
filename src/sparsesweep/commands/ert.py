"""``sparsesweep ert``: write an arch's energy reference table (and its area table) from component models."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..clitools import with_examples
from ..energy.ert import SOURCES, Energies, arch_energies
from ..energy.models import CachedModels, Hwcomponents
from ..errors import SpecError
from ..fsio import not_a_file, write_text_atomic
from ..specs.arch import ArchSpec, apply_overrides, load_arch, parse_assignment
from ..specs.paths import resolve_named
from ..yamlio import dump_yaml

HELP = "Write an architecture's Accelergy-format ERT (pJ per action) and area table from component models."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.epilog = with_examples(
        "Writes ERT.yaml (Timeloop's 'ERT:' tables, one per level) and, beside it, ART.yaml (um^2 per component "
        "instance, per component and per design; NAME.ART.yaml for an output named NAME.yaml). Load them with 'timeloop-model input.yaml ERT.yaml mapping.yaml'. "
        "Model estimates are cached in $SPARSESWEEP_CACHE_DIR/components.",
        ("sparsesweep ert arch/stc.yaml --set smem_kib=512 -o out/ert/ERT.yaml",
         "sparsesweep ert arch/dstc.yaml --energy scaled --set lrf_metadata_bits=256 -o out/dstc/ERT.yaml",
         "sparsesweep ert stc --dense -o out/tc/ERT.yaml"))
    parser.add_argument("arch", metavar="ARCH", help="architecture file (a bare name is looked up in arch/)")
    parser.add_argument("--set", action="append", default=[], metavar="NAME=VALUE", dest="overrides",
                        help="override an architecture parameter, e.g. --set smem_kib=512 (repeatable)")
    parser.add_argument("--energy", choices=SOURCES, default="hwcomponents",
                        help="energy source: the component models (hwcomponents, default), the pinned table scaled "
                             "by the models' ratio to its reference (scaled), or the pinned table (pinned)")
    parser.add_argument("--dense", action="store_true",
                        help="the table of dense points (the arch's dense_ert design: no metadata storage)")
    parser.add_argument("-o", "--out", default="ERT.yaml", metavar="ERT.yaml",
                        help="output file (default: %(default)s); the area table goes beside it: ART.yaml for "
                             "ERT.yaml, NAME.ART.yaml for any other NAME.yaml")


def area_table_path(out: Path) -> Path:
    """The area table written with the ERT ``out``: ``ART.yaml`` beside ``ERT.yaml`` (Accelergy's pair of
    names), ``NAME.ART.yaml`` beside any other ``NAME.yaml``, so two tables in one folder keep their own."""
    if out.name == "ERT.yaml":
        return out.with_name("ART.yaml")
    return out.with_name(f"{out.stem}.ART{out.suffix or '.yaml'}")


def write_ert(arch: ArchSpec, out: str | Path, *, source: str = "hwcomponents", dense: bool = False,
              models: CachedModels | None = None) -> tuple[Path, Path, Energies]:
    """Write ``out`` (the ERT) and its area table beside it (:func:`area_table_path`); returns both paths
    and the energies.  Each file is written whole (a temporary file renamed) or not at all."""
    out = Path(out)
    problem = not_a_file(out)
    if problem not in (None, "not found"):
        raise SpecError(f"the output {problem}", file=out, key="-o", fix="give a file name, e.g. -o out/ERT.yaml")
    energies = arch_energies(arch, source, models or CachedModels(Hwcomponents()), dense=dense)  # type: ignore[arg-type]
    art = area_table_path(out)
    header = (f"# Energies (pJ/action) of arch '{arch.name}'{' (dense design)' if dense else ''}, source {energies.source}: "
              f"{energies.note}.\n")
    try:
        write_text_atomic(out, header + dump_yaml(energies.ert))
        write_text_atomic(art, f"# Area (um^2) of arch '{arch.name}' from component models; DRAM is off chip.\n"
                          + dump_yaml(energies.art()))
    except OSError as exc:
        raise SpecError(f"cannot write the tables: {exc.strerror or exc}", file=out, key="-o",
                        fix="choose a writable output file") from exc
    return out, art, energies


def run(args: argparse.Namespace) -> int:
    arch = load_arch(resolve_named(args.arch, "arch", "arch"))
    if args.overrides:
        arch = apply_overrides(arch, dict(parse_assignment(text) for text in args.overrides))
    ert, art, energies = write_ert(arch, args.out, source=args.energy, dense=args.dense)
    print(ert)
    print(art)
    for warning in energies.warnings:
        print(f"warning: {warning}")
    return 0

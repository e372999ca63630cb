"""Render one (arch, layer, scheme, sides, sparsity) point into Timeloop input files.

:func:`render_point` is pure: it returns the rendered texts (``input.yaml``: architecture,
compound components, problem, sparse optimizations, mapper constraints, mapper settings and, when
given, the mapping; ``ERT.yaml``: the pinned energies) and the same content parsed back as a
:class:`~sparsesweep.inputs.SpecBundle`.  :func:`write_point` writes the texts to a folder.
Templates are Jinja2 files in the top-level ``templates/`` folder, rendered in a sandbox with
``StrictUndefined``; every rendered text is parsed back (safe YAML) before anyone sees it.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import jinja2
from jinja2.sandbox import SandboxedEnvironment

from .energy.ert import Energies
from .errors import MappingError, SpecError
from .inputs import SpecBundle, bundle_from_docs
from .render_design import DesignPlan, TensorPlan, plan_point
from .specs.arch import ArchSpec
from .specs.ert import ert_for_arch, load_ert_cached
from .specs.mapper import MapperSettings
from .specs.paths import templates_dir
from .specs.scheme import SchemeSpec, Sides
from .specs.workload import Layer
from .yamlio import YamlDoc, dump_yaml, parse_yaml_sections

INPUT_FILE = "input.yaml"
ERT_FILE = "ERT.yaml"
MAPPING_TYPES = ("temporal", "spatial", "datatype", "bypass")
REQUIRED_KEYS = ("architecture", "problem", "architecture_constraints", "mapper")


@dataclass(frozen=True)
class RenderedPoint:
    """The rendered inputs of one point, parsed back, with what the renderer decided."""

    name: str
    files: Mapping[str, str]  # file name -> text
    bundle: SpecBundle
    plan: DesignPlan
    layer: Layer
    scheme: SchemeSpec
    arch: ArchSpec
    warnings: tuple[str, ...] = field(default=())
    energy_source: str = "pinned"  # pinned, hwcomponents or scaled (see sparsesweep.energy)
    area_um2: float | None = None  # the design's area, when component models gave it

    def info(self) -> dict[str, Any]:
        """A flat summary of the point (for result rows and logs)."""
        plan, gemm = self.plan, self.plan.gemm
        return {
            "point": self.name, "layer": self.layer.name, "repeat": self.layer.repeat, "arch": self.arch.name,
            "scheme": self.scheme.name, "kind": plan.kind, "sides": plan.sides, "design": plan.design,
            "sparsity": plan.sparsity, "act_sparsity": plan.act_sparsity,
            "weight_density": plan.weights.density, "act_density": plan.acts.density,
            "weight_nm": str(plan.weights.nm) if plan.weights.nm else None,
            "act_nm": str(plan.acts.nm) if plan.acts.nm else None,
            "M": gemm.M, "N": gemm.N, "K": gemm.K, "M_orig": gemm.M_orig, "N_orig": gemm.N_orig,
            "K_orig": gemm.K_orig, "macs": gemm.macs, "macs_orig": gemm.macs_orig,
        }


def point_name(layer: Layer, scheme: SchemeSpec, sides: Sides, sparsity: float,
               act_sparsity: float | None = None) -> str:
    """A file-system-safe name, e.g. ``conv3_1_b_3x3-structured-dual-s0.5``."""
    name = f"{layer.name}-{scheme.name}-{sides}-s{sparsity:g}"
    if act_sparsity is not None:
        name += f"-a{act_sparsity:g}"
    return re.sub(r"[^A-Za-z0-9_.\-]", "_", name)


def render_point(arch: ArchSpec, layer: Layer, scheme: SchemeSpec, sides: Sides, sparsity: float,
                 act_sparsity: float | None = None, mapping: Sequence[Mapping[str, Any]] | None = None,
                 mapper: MapperSettings | None = None, *, templates: Path | None = None,
                 energies: Energies | None = None) -> RenderedPoint:
    """Render one point (see the module docs); user errors raise :class:`SpecError`.

    ``energies``: the point's ERT from :func:`sparsesweep.energy.arch_energies` (its arch, and its
    dense table for a dense scheme); default: the arch's pinned ERT file.
    """
    plan = plan_point(arch, layer, scheme, sides, sparsity, act_sparsity)
    if mapping is not None:
        check_mapping(mapping)
    name = point_name(layer, scheme, sides, sparsity, act_sparsity)
    ert_path = arch.ert_path(dense=scheme.kind == "dense")
    if energies is None:
        ert, ert_doc = load_ert_cached(ert_path)
        ert_data, ert_warnings = ert_for_arch(ert, ert_doc, arch)
        header = f"# Pinned energies (pJ/action) from {_shown(ert_path)}; see that file for their provenance.\n"
    else:
        ert_data, ert_warnings = energies.ert, list(energies.warnings)
        header = f"# Energies (pJ/action), source {energies.source}: {_comment(energies.note)}.\n"
    context = _context(name, arch, layer, scheme, plan, mapper or MapperSettings(), mapping)
    input_text = _render(templates or templates_dir(), "input.yaml.j2", context)
    ert_text = header + f"# Table names follow this point's architecture ({_comment(arch.name)}).\n" + dump_yaml(ert_data)
    docs = [_parse_rendered(input_text, name, INPUT_FILE), _parse_rendered(ert_text, name, ERT_FILE)]
    missing = [k for k in REQUIRED_KEYS if k not in (docs[0].data or {})]
    if missing:
        raise SpecError(f"rendered {INPUT_FILE} lacks {', '.join(missing)}", file=docs[0].path,
                        fix="a template in templates/ dropped it; restore templates/input.yaml.j2")
    return RenderedPoint(name=name, files={INPUT_FILE: input_text, ERT_FILE: ert_text},
                         bundle=bundle_from_docs(name, docs), plan=plan, layer=layer, scheme=scheme, arch=arch,
                         warnings=tuple(plan.warnings) + tuple(ert_warnings),
                         energy_source=energies.source if energies else "pinned",
                         area_um2=energies.design_area_um2 if energies and energies.area else None)


def write_point(point: RenderedPoint, out_dir: str | Path) -> list[Path]:
    """Write the point's files into ``out_dir`` (created if needed); returns the paths written."""
    out = Path(out_dir)
    try:
        out.mkdir(parents=True, exist_ok=True)
        written = []
        for file_name, text in point.files.items():
            path = out / file_name
            path.write_text(text, encoding="utf-8")
            written.append(path)
    except OSError as exc:
        raise SpecError(f"cannot write the rendered files: {exc.strerror or exc}", file=out,
                        key="--out", fix="choose a writable output folder") from exc
    return written


def check_mapping(mapping: Any, doc: YamlDoc | None = None, prefix: Sequence[str | int] = ("mapping",)) -> None:
    """Light check of Timeloop mapping entries (a list of mappings with a known target and type)."""
    def fail(what: str, key: Sequence[str | int], fix: str) -> MappingError:
        if doc is not None:
            return MappingError(what, file=doc.path, line=doc.line_of(key), key=key, fix=fix)
        return MappingError(what, key=key, fix=fix)

    if not isinstance(mapping, (list, tuple)) or not mapping:
        raise fail("a mapping must be a non-empty list of entries", tuple(prefix),
                   fix="write 'mapping:' followed by '- target: ...' entries")
    levels = ("DRAM", "SMEM", "RF", "LRF")
    for i, entry in enumerate(mapping):
        key = (*prefix, i)
        if not isinstance(entry, Mapping):
            raise fail("a mapping entry must be a mapping", key, fix="use target/type/factors/permutation keys")
        if entry.get("target") not in levels:
            raise fail(f"unknown mapping target {entry.get('target')!r}", (*key, "target"),
                       fix=f"use one of {', '.join(levels)}")
        if entry.get("type") not in MAPPING_TYPES:
            raise fail(f"unknown mapping type {entry.get('type')!r}", (*key, "type"),
                       fix=f"use one of {', '.join(MAPPING_TYPES)}")


# ---- internals ---------------------------------------------------------------------------------

def _context(name: str, arch: ArchSpec, layer: Layer, scheme: SchemeSpec, plan: DesignPlan,
             mapper: MapperSettings, mapping: Sequence[Mapping[str, Any]] | None) -> dict[str, Any]:
    derived = ("smem_depth", "smem_metadata_depth", "rf_depth", "rf_metadata_depth", "lrf_depth",
               "lrf_metadata_depth", "lrf_md_width_bits")
    arch_ctx = {k: _num(v) for k, v in arch.model_dump().items()}
    arch_ctx.update({k: getattr(arch, k) for k in derived})
    return {
        "point": {"name": name, "layer": layer.name, "repeat": layer.repeat, "scheme": scheme.name,
                  "design": plan.design, "arch": arch.name, "sparsity": plan.sparsity,
                  "act_sparsity": plan.act_sparsity, "notes": list(plan.notes)},
        "arch": arch_ctx,
        "topology": plan.topology, "kind": plan.kind, "sides": plan.sides, "saf": plan.saf,
        "position_skipping": plan.position_skipping,
        "gemm": {"M": plan.gemm.M, "N": plan.gemm.N, "K": plan.gemm.K},
        "weights": _tensor_ctx(plan.weights), "acts": _tensor_ctx(plan.acts),
        "pins": dict(plan.pins),
        "mapper": mapper.model_dump(),
        "mapping": [dict(e) for e in mapping] if mapping else None,
    }


def _tensor_ctx(plan: TensorPlan) -> dict[str, Any]:
    return {"density": plan.density, "distribution": plan.distribution, "compressed": plan.compressed,
            "format": plan.format, "metadata_bits": plan.metadata_bits, "nm": str(plan.nm) if plan.nm else None}


def _num(value: Any) -> Any:
    return int(value) if isinstance(value, float) and value.is_integer() else value


def yaml_scalar(value: Any) -> Any:
    """Every ``{{ value }}`` of a template, as YAML reads it back: floats always with a dot (``1e-05``
    is a string to YAML 1.1, ``1.0e-05`` a float), never ``inf``/``nan``, ``None`` as ``null``.
    Strings pass unchanged (macros and filters return YAML text); user strings are single-line by
    validation (:mod:`.specs.base`) and go into comments through the ``comment`` filter."""
    if isinstance(value, bool) or value is None:
        return {True: "true", False: "false", None: "null"}[value]
    if isinstance(value, float):
        if not math.isfinite(value):
            raise SpecError(f"a rendered value is {value!r}", fix="give finite numbers")
        text = repr(value)
        mantissa, e, exponent = text.partition("e")
        return (mantissa if "." in mantissa else mantissa + ".0") + (e + exponent if e else "")
    return value


def _comment(value: Any) -> str:
    return " ".join(str(value).split())


def _flow(value: Any) -> str:
    return json.dumps(value, ensure_ascii=True)


@lru_cache(maxsize=4)
def _environment(folder: str) -> SandboxedEnvironment:
    env = SandboxedEnvironment(loader=jinja2.FileSystemLoader(folder), undefined=jinja2.StrictUndefined,
                               trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True, autoescape=False,
                               finalize=yaml_scalar)
    env.filters["comment"] = _comment
    env.filters["flow"] = _flow
    return env


def _render(folder: Path, template: str, context: Mapping[str, Any]) -> str:
    try:
        return _environment(str(folder)).get_template(template).render(**context)
    except jinja2.TemplateSyntaxError as exc:
        raise SpecError(f"template syntax error: {exc.message}", file=exc.filename or folder / (exc.name or template),
                        line=exc.lineno, fix="fix the Jinja syntax on that line") from exc
    except jinja2.TemplateNotFound as exc:
        raise SpecError(f"template '{exc.name}' not found", file=folder,
                        fix="restore it from the repository's templates/ folder") from exc
    except jinja2.UndefinedError as exc:
        raise SpecError(f"template uses an undefined value: {exc.message}", file=folder / template,
                        fix="use only the context variables listed in the README (Templates)") from exc
    except jinja2.exceptions.SecurityError as exc:
        raise SpecError(f"template tried an unsafe operation: {exc}", file=folder / template,
                        fix="templates may only format the given values") from exc


def _parse_rendered(text: str, name: str, file_name: str) -> YamlDoc:
    path = Path(name) / file_name
    try:
        return parse_yaml_sections(text, path)
    except SpecError as exc:
        raise SpecError(f"rendered {file_name} is not valid YAML: {exc.what}", file=path, line=exc.line,
                        fix="a template in templates/ produced it; check the template's indentation") from exc


def _shown(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)

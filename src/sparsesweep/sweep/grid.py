"""The sweep grid: which points a sweep evaluates, checked before any work starts.

A grid is the product of memory settings (``--set NAME=V1,V2`` axes, crossed; ``--set A,B=a1:b1,a2:b2``
moves A and B together) x design variants x variants x layers, where the variants are the dense
baseline (sparsity 0, rendered single-sided), every requested scheme at sparsity 0 (its own
hardware running dense data, the "own dense" point both sides normalise to) and every requested
scheme x sides x nonzero sparsity (x activation sparsity for dual points).  Each scheme runs on the arch whose ``topology`` it needs:
dense and structured on the STC arch (``arch/stc.yaml``), unstructured on the DSTC arch
(``arch/dstc.yaml``), unless ``--arch`` files of those topologies are given.  Labelled archs
(``--arch big_rf=arch/stc_rf4k.yaml``) are design variants: each label is a set of archs (one per
topology; the unlabelled ones, else the defaults, fill the rest) swept side by side and carried in
the ``variant`` column; unlabelled archs form the variant ``base``, swept unless only labelled
archs are given.  Memory settings apply to every arch by parameter name.
"""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import SpecError, suggest
from ..render_design import plan_point
from ..specs.arch import ArchSpec, apply_overrides, load_arch
from ..specs.paths import resolve_named
from ..specs.scheme import SIDES, SchemeSpec, Sides, check_sparsity, load_scheme
from ..specs.workload import Layer, Workload, load_workload
from .acts import check_workload_acts
from .parsing import parse_axis, parse_fractions, parse_list  # noqa: F401 (re-exported)

DEFAULT_SPARSITIES = (0.0, 0.5, 0.667, 0.75)
DEFAULT_SCHEMES = ("structured", "unstructured")  # Timeloop master accepts these


def default_schemes(backend: str) -> tuple[str, ...]:
    """The study's schemes on ``backend``: on the native engine, unstructured is the artifact's
    DSTC with position-skipping (the model behind the Sparseloop study); Timeloop master has no
    position-skipping, so it gets the closest design it accepts."""
    if backend == "native":
        return ("structured", "unstructured_position_skipping")
    return DEFAULT_SCHEMES
DEFAULT_WORKLOAD = "workloads/resnet50.yaml"
DENSE_SCHEME = "dense"
DENSE_SIDES = "-"  # how dense points show their sides in tables
BASE_VARIANT = "base"  # the design variant of unlabelled (and default) archs
FACTOR_SUFFIX = "_factor"  # column of an axis given as multiples (x0.5,x1,x2) of each arch's own value


@dataclass(frozen=True)
class SweepConfig:
    """What to sweep (the CLI's options as values)."""

    sparsities: tuple[float, ...] = DEFAULT_SPARSITIES
    schemes: tuple[str, ...] = DEFAULT_SCHEMES  # names in sparse_opt/ or files
    sides: tuple[Sides, ...] = SIDES
    layers: tuple[str, ...] | None = None  # None: every layer of the workload
    archs: tuple[str, ...] = ()  # files, or LABEL=FILE for design variants; a topology without one: arch/<topology>.yaml
    workload: str = DEFAULT_WORKLOAD
    axes: tuple[tuple[str, tuple[str, ...]], ...] = ()  # (parameter, values as given); "A,B" + "a:b" values: paired
    act_sparsities: tuple[float, ...] = ()  # dual points only; () = the weight sparsity
    act_from_workload: bool = False  # dual points: each layer's activation_density (--act-sparsity workload)


@dataclass(frozen=True)
class Variant:
    """A design point of the network (before the layer and the memory setting are chosen)."""

    scheme: SchemeSpec
    sides: Sides
    sparsity: float
    act_sparsity: float | None
    act_from_workload: bool = False  # dual: each layer's activation_density instead of act_sparsity

    @property
    def dense(self) -> bool:
        return self.scheme.kind == "dense"

    def act_for(self, layer: Layer) -> float | None:
        """The activation sparsity this variant renders ``layer`` with (None: the weight sparsity)."""
        if self.act_from_workload and layer.activation_density is not None:
            return round(1.0 - layer.activation_density, 12)
        return self.act_sparsity


@dataclass(frozen=True)
class PlannedPoint:
    """One point of the grid: everything needed to render it."""

    id: str  # unique, file-system safe; the point's folder name under <out>/points/
    layer: Layer
    variant: Variant
    arch: ArchSpec  # with the memory setting applied
    setting: tuple[tuple[str, Any], ...]  # swept parameter -> value (validated, typed)
    design: str = BASE_VARIANT  # the design variant (label of the --arch set)
    probe: str = ""  # the claim this point was added for (a claim probe, see .probes); '' for the grid's own


@dataclass(frozen=True)
class Grid:
    points: list[PlannedPoint]
    axes: dict[str, list[Any]]  # column (parameter, or parameter + FACTOR_SUFFIX) -> swept values, in order
    reference: dict[str, Any]  # parameter -> the value other plots and claims hold it at (paired: the lead only)
    archs: dict[str, ArchSpec]  # topology -> arch of the first design variant (before memory settings)
    schemes: list[SchemeSpec]  # swept schemes (dense excluded), in the order given
    workload: Workload
    layers: list[Layer]
    variants: list[Variant]
    notes: list[str] = field(default_factory=list)
    designs: dict[str, dict[str, ArchSpec]] = field(default_factory=dict)  # variant label -> topology -> arch
    paired: dict[str, str] = field(default_factory=dict)  # column that follows -> the column it moves with
    inputs: tuple[Path, ...] = ()  # the workload and scheme files read (provenance; archs are in designs)
    held: dict[str, Any] = field(default_factory=dict)  # column memory probes vary -> every other point's value


def build_grid(config: SweepConfig) -> Grid:
    """Load the specs and check every combination; user errors raise :class:`SpecError`."""
    notes: list[str] = []
    sparsities = _unique([check_sparsity(s) for s in config.sparsities])
    acts = _unique([check_sparsity(s, "--act-sparsity") for s in config.act_sparsities])
    sides_given = ("single", "dual") if tuple(config.sides) == ("both",) else tuple(config.sides)
    for sides in sides_given:
        if sides not in SIDES:
            raise SpecError(f"unknown sides '{sides}'", key="--sides", fix="use single, dual, single,dual or both")
    dense = load_scheme(resolve_named(DENSE_SCHEME, "sparse_opt", "scheme"))
    schemes = _schemes(config.schemes)
    workload_path = resolve_named(config.workload, "workloads", "workload")
    workload = load_workload(workload_path)
    layers = _layers(workload, config.layers, workload_path)
    designs = _designs(config.archs, {dense.topology, *(s.topology for s in schemes)})
    archs = next(iter(designs.values()))
    every_arch = {f"{label}/{topo}": arch for label, d in designs.items() for topo, arch in d.items()}
    axes, groups = _axes(config.axes, every_arch)
    paired = {column: group[0] for group in groups for column in group[1:]}
    if (acts or config.act_from_workload) and "dual" not in sides_given:
        notes.append("--act-sparsity only affects dual-sided points, and none are swept")
    if config.act_from_workload and "dual" in sides_given:
        check_workload_acts(layers, workload_path)
    if not any(s > 0 for s in sparsities):
        notes.append("no nonzero sparsity given: only the dense baseline runs")
    variants = [Variant(dense, "single", 0.0, None)]
    for scheme in schemes:
        if any(s > 0 for s in sparsities):  # the design's own hardware at zero sparsity (its "own dense")
            variants.append(Variant(scheme, "single", 0.0, None))
        for sides in sides_given:
            for sparsity in (s for s in sparsities if s > 0):
                for act in (acts if sides == "dual" and acts else [None]):
                    variants.append(Variant(scheme, sides, sparsity, act, sides == "dual" and config.act_from_workload))
    reference = _references(axes, groups, archs)
    points: list[PlannedPoint] = []
    for combo in itertools.product(*(range(len(axes[group[0]])) for group in groups)):
        setting = tuple((column, axes[column][i]) for group, i in zip(groups, combo) for column in group)
        setting = tuple(sorted(setting, key=lambda item: list(axes).index(item[0])))
        for label, design in designs.items():
            hw = {topo: with_setting(arch, setting) for topo, arch in design.items()}
            for variant in variants:
                arch = hw[variant.scheme.topology]
                for layer in (layers if variant.act_from_workload else layers[:1]):
                    plan_point(arch, layer, variant.scheme, variant.sides, variant.sparsity, variant.act_for(layer),
                               f"activation_density of layer {layer.name} ({workload_path}), with --act-sparsity "
                               "workload" if variant.act_from_workload else "--act-sparsity")
                points.extend(PlannedPoint(point_id(layer, variant, setting, label), layer, variant, arch, setting,
                                           label) for layer in layers)
    _check_unique_ids(points)
    return Grid(points=points, axes=axes, reference=reference, archs=archs, schemes=schemes, workload=workload,
                layers=layers, variants=variants, notes=notes, designs=designs, paired=paired,
                inputs=(workload_path, *(resolve_named(name, "sparse_opt", "scheme", key="--schemes")
                                         for name in (DENSE_SCHEME, *config.schemes))))


def point_id(layer: Layer, variant: Variant, setting: Sequence[tuple[str, Any]], design: str = BASE_VARIANT) -> str:
    """``conv1-structured-dual-s0.5`` (+ ``-a0.3`` for an activation sparsity, ``-smem_kib128`` ...,
    ``-v<label>`` for a design variant other than ``base``)."""
    if variant.dense:
        name = f"{layer.name}-{variant.scheme.name}"
    else:
        name = f"{layer.name}-{variant.scheme.name}-{variant.sides}-s{variant.sparsity:g}"
        if variant.act_from_workload:
            name += "-aworkload"
        elif variant.act_sparsity is not None:
            name += f"-a{variant.act_sparsity:g}"
    name += "".join(f"-{key}{_id_value(value)}" for key, value in setting)
    if design != BASE_VARIANT:
        name += f"-v{design}"
    return re.sub(r"[^A-Za-z0-9_.\-]", "_", name)


def _id_value(value: Any) -> str:
    if isinstance(value, str):  # a file (an ERT): its name
        return Path(value).stem
    return f"{value:g}" if isinstance(value, float) else str(value)


def _check_unique_ids(points: Sequence[PlannedPoint]) -> None:
    """Two points with one id would share a folder and a table row: refuse before any work."""
    seen: dict[str, PlannedPoint] = {}
    for point in points:
        other = seen.setdefault(point.id, point)
        if other is not point:
            a, b = other.variant, point.variant
            what = (f"schemes '{a.scheme.name}' and '{b.scheme.name}'" if a.scheme.name != b.scheme.name
                    else f"settings {dict(other.setting)} and {dict(point.setting)}" if other.setting != point.setting
                    else f"sparsities {a.sparsity!r}/{a.act_sparsity!r} and {b.sparsity!r}/{b.act_sparsity!r}")
            raise SpecError(f"two points get the same id '{point.id}' ({what})", key="--set/--schemes/--sparsity",
                            fix="give values that differ in their first 6 digits and names that differ in letters "
                                "or digits")


def with_setting(arch: ArchSpec, setting: Sequence[tuple[str, Any]]) -> ArchSpec:
    """``arch`` with a memory setting applied (multiples scale the arch's own value)."""
    if not setting:
        return arch
    overrides = {}
    for column, value in setting:
        if column.endswith(FACTOR_SUFFIX):
            name = column.removesuffix(FACTOR_SUFFIX)
            overrides[name] = _scaled(arch, name, value)
        else:
            overrides[column] = value
    return apply_overrides(arch, overrides)


# ---- internals ---------------------------------------------------------------------------------

def _unique(values: list[float]) -> list[float]:
    out: list[float] = []
    for v in values:
        if v not in out:
            out.append(v)
    return out


def _schemes(names: Sequence[str]) -> list[SchemeSpec]:
    schemes: list[SchemeSpec] = []
    files: dict[str, Path] = {}
    for name in names:
        path = resolve_named(name, "sparse_opt", "scheme", key="--schemes")
        scheme = load_scheme(path)
        if scheme.name in files:
            if files[scheme.name].resolve() != Path(path).resolve():
                raise SpecError(f"schemes {files[scheme.name]} and {path} are both named '{scheme.name}'",
                                key="--schemes", fix="give each scheme file its own 'name:'")
            continue  # the same file twice
        files[scheme.name] = Path(path)
        if scheme.kind != "dense":
            schemes.append(scheme)
    return schemes


def _layers(workload: Workload, wanted: Sequence[str] | None, source: Path) -> list[Layer]:
    if wanted is None:
        return list(workload.layers)
    return workload.select(wanted, source=source)


def _designs(files: Sequence[str], topologies: set[str]) -> dict[str, dict[str, ArchSpec]]:
    """Design variant label -> topology -> arch (see the module docs)."""
    given: dict[str, dict[str, ArchSpec]] = {}
    for text in files:
        label, sep, name = text.partition("=")
        label, name = (label.strip(), name.strip()) if sep else (BASE_VARIANT, text)
        if not re.fullmatch(r"[A-Za-z0-9_.\-]+", label):
            raise SpecError(f"'{label}' is not a variant label", key=f"--arch {text}",
                            fix="labels are letters, digits, _ . - (e.g. --arch big_rf=arch/stc_rf4k.yaml)")
        arch = load_arch(resolve_named(name, "arch", "arch"))
        own = given.setdefault(label, {})
        if arch.topology in own:
            which = "two unlabelled --arch files" if label == BASE_VARIANT else f"two --arch {label}=... files"
            raise SpecError(f"{which} have topology '{arch.topology}'", key="--arch",
                            fix="label each variant of a topology (--arch big_rf=arch/stc_rf4k.yaml) to sweep "
                                "several side by side")
        own[arch.topology] = arch
    base = given.get(BASE_VARIANT, {})
    defaults = {topo: base[topo] if topo in base else load_arch(resolve_named(topo, "arch", "arch"))
                for topo in sorted(topologies | set(base))}
    labels = [BASE_VARIANT] if not given or BASE_VARIANT in given else []
    labels += [label for label in given if label != BASE_VARIANT]
    return {label: {**defaults, **given.get(label, {})} for label in labels}


def _axes(given: Sequence[tuple[str, Sequence[str]]],
          archs: dict[str, ArchSpec]) -> tuple[dict[str, list[Any]], list[tuple[str, ...]]]:
    """Column -> typed values, and the groups of columns that move together (one column each when crossed)."""
    axes: dict[str, list[Any]] = {}
    groups: list[tuple[str, ...]] = []
    for name, values in given:
        names = name.split(",")
        if len(names) == 1:
            axes.update(_axis(name, values, archs, axes))
            groups.append((next(reversed(axes)),))
            continue
        key = f"--set {name}"
        if len(set(names)) != len(names) or not all(names):
            raise SpecError("lists a parameter twice or leaves one empty", key=key,
                            fix="write --set A,B=a1:b1,a2:b2 with distinct names")
        cells = [value.split(":") for value in values]
        for value, cell in zip(values, cells):
            if len(cell) != len(names):
                raise SpecError(f"value '{value}' has {len(cell)} part(s) for {len(names)} parameters", key=key,
                                fix=f"give one value per parameter, separated by ':', e.g. "
                                    f"{':'.join(['V'] * len(names))}")
        for part in names:
            if part not in ArchSpec.parameter_names():
                raise SpecError(f"unknown architecture parameter '{part}'", key=key,
                                fix=suggest(part, ArchSpec.parameter_names()))
            if part in axes or part + FACTOR_SUFFIX in axes:
                raise SpecError(f"{part} is swept twice", key=key, fix="give each parameter in one --set only")
        if any(v.lower().startswith("x") for cell in cells for v in cell):
            raise SpecError("paired parameters take values, not multiples", key=key, fix="give values, e.g. 128:32")
        columns = list(names)
        for column in columns:
            axes[column] = []
        for cell in cells:  # each combination is validated as a whole, on every arch of the sweep
            overrides = dict(zip(names, cell))
            for arch in archs.values():
                checked = apply_overrides(arch, overrides, source=key)
            for column in columns:
                axes[column].append(getattr(checked, column))
        tuples = list(zip(*(axes[c] for c in columns)))
        if len(set(tuples)) != len(tuples):
            raise SpecError("a combination is listed twice", key=key, fix="list each combination once")
        groups.append(tuple(columns))
    return axes, groups


def _axis(name: str, values: Sequence[str], archs: dict[str, ArchSpec], seen: dict[str, list[Any]]) -> dict[str, list[Any]]:
    """One swept parameter: its column and typed values, validated on every arch."""
    names = ArchSpec.parameter_names()
    key = f"--set {name}"
    if name not in names:
        raise SpecError(f"unknown architecture parameter '{name}'", key=key, fix=suggest(name, names))
    if name in seen or name + FACTOR_SUFFIX in seen:
        raise SpecError(f"--set {name} is given twice", key=key, fix=f"list every value once: --set {name}=V1,V2,...")
    relative = [v.lower().startswith("x") for v in values]
    if any(relative) and not all(relative):
        raise SpecError("mixes values and multiples", key=key,
                        fix="give values (128,256) or multiples of each arch's own value (x0.5,x1,x2), not both")
    typed: list[Any] = []
    for value in values:
        if all(relative):
            checked: Any = _factor(value, key)
            for arch in archs.values():  # validates the scaled value on every arch of the sweep
                apply_overrides(arch, {name: _scaled(arch, name, checked)})
        else:
            for arch in archs.values():
                checked = getattr(apply_overrides(arch, {name: value}), name)
        if checked in typed:
            raise SpecError(f"value {value} is listed twice", key=key, fix="list each value once")
        typed.append(checked)
    return {name + FACTOR_SUFFIX if all(relative) else name: typed}


def _factor(text: str, key: str) -> float:
    try:
        factor = float(text[1:])
    except ValueError:
        factor = -1.0
    if not (math.isfinite(factor) and factor > 0):
        raise SpecError(f"'{text}' is not a positive multiple", key=key, fix="write multiples as x0.5, x1, x2")
    return factor


def _scaled(arch: ArchSpec, name: str, factor: float) -> Any:
    base = getattr(arch, name)
    if not isinstance(base, (int, float)) or isinstance(base, bool):
        raise SpecError(f"{name} of arch '{arch.name}' is {base!r}, which has no multiples", key=f"--set {name}",
                        fix="give values instead of multiples")
    value = base * factor
    if isinstance(base, int):
        if abs(value - round(value)) > 1e-9:
            raise SpecError(f"x{factor:g} of {name}={base} (arch '{arch.name}') is {value:g}, not a whole number",
                            key=f"--set {name}", fix="pick multiples that give whole numbers on every arch")
        value = int(round(value))
    return value


def _references(axes: dict[str, list[Any]], groups: list[tuple[str, ...]], archs: dict[str, ArchSpec]) -> dict[str, Any]:
    """The reference value of each crossed axis, and of the lead (first) column of each paired group;
    the columns that follow a lead are not held separately (they move with it)."""
    return {group[0]: _reference(group[0], axes[group[0]], archs) for group in groups}


def _reference(name: str, values: list[Any], archs: dict[str, ArchSpec]) -> Any:
    """The default of the STC arch (else any arch) when swept (x1 for multiples), else the first value given."""
    if name.endswith(FACTOR_SUFFIX):
        return 1.0 if 1.0 in values else values[0]
    for topology in ("stc", *sorted(archs)):
        if topology in archs:
            own = getattr(archs[topology], name)
            for value in values:
                if value == own or _same_file(archs[topology], own, value):
                    return value
    return values[0]


def _same_file(arch: ArchSpec, own: Any, value: Any) -> bool:
    """A file-valued parameter (an ERT) given on the command line (resolved) and the arch's own value
    (relative to the arch file) name the same file."""
    if not (isinstance(own, str) and isinstance(value, str)):
        return False
    path = Path(own).expanduser()
    base = arch.source.parent if arch.source is not None else None
    if not path.is_absolute() and base is not None:
        path = base / path
    return path.resolve() == Path(value).expanduser().resolve()

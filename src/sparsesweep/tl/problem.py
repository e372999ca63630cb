"""Problem: dimensions, bounds, dataspace projections and density models."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from operator import itemgetter
from typing import Any

from .common import Path, Reader, norm_word

DISTRIBUTIONS = ("fixed_structured", "fixed", "hypergeometric", "banded", "diagonal")


@dataclass(frozen=True)
class Term:
    """``coefficient * dimension`` inside one rank's projection."""

    dim: int  # index into Problem.dims
    coef: int


@dataclass(frozen=True)
class DataSpace:
    name: str
    ranks: tuple[tuple[Term, ...], ...]  # one affine expression per tensor rank
    read_write: bool

    @cached_property
    def dims(self) -> frozenset[int]:
        """Dimensions that appear in the projection (the relevant dimensions)."""
        return frozenset(t.dim for rank in self.ranks for t in rank)

    def relevant(self, dim: int) -> bool:
        return dim in self.dims

    @cached_property
    def terms(self) -> tuple[tuple[tuple[int, int], ...], ...]:
        """Per rank: its (dimension, coefficient) pairs."""
        return tuple(tuple((t.dim, t.coef) for t in rank) for rank in self.ranks)

    @cached_property
    def _single_terms(self) -> tuple[tuple[int, int], ...] | None:
        """Per rank its one (dimension, coefficient), or None when some rank couples dimensions."""
        return tuple(rank[0] for rank in self.terms) if all(len(rank) == 1 for rank in self.terms) else None

    @property
    def coupled(self) -> bool:
        """Some rank's projection combines two or more dimensions (e.g. a convolution's input)."""
        return self._single_terms is None

    @cached_property
    def _pick(self) -> Callable[[Sequence[int]], tuple[int, ...]] | None:
        """The projection as an item getter, when there are two or more ranks and each is one
        dimension with coefficient 1 (the common case, e.g. every GEMM operand)."""
        single = self._single_terms
        if single is None or len(single) < 2 or any(c != 1 for _, c in single):
            return None
        return itemgetter(*(d for d, _ in single))

    def extents(self, factors: Sequence[int]) -> tuple[int, ...]:
        """Per-rank extents of the tile that per-dimension ``factors`` (operation-space extents) touch."""
        pick = self._pick
        if pick is not None:
            return pick(factors)
        single = self._single_terms
        if single is not None:
            return tuple([1 + c * (factors[d] - 1) for d, c in single])
        out = []
        for rank in self.terms:
            extent = 1
            for d, c in rank:
                extent += c * (factors[d] - 1)
            out.append(extent)
        return tuple(out)


@dataclass(frozen=True)
class Density:
    """A density model of one dataspace (see sparsesweep.engine.density)."""

    distribution: str  # fixed_structured | hypergeometric | banded
    density: float  # nonzero fraction in (0, 1]; for banded the derived nnz/size
    band_width: int = 0


@dataclass(frozen=True)
class Problem:
    name: str
    dims: tuple[str, ...]
    bounds: tuple[int, ...]  # per dimension
    dataspaces: tuple[DataSpace, ...]
    densities: Mapping[str, Density] = field(default_factory=dict)

    def dim_index(self, name: str) -> int:
        return self.dims.index(name)

    def ds_index(self, name: str) -> int:
        return [d.name for d in self.dataspaces].index(name)

    @property
    def macs(self) -> int:
        total = 1
        for b in self.bounds:
            total *= b
        return total

    def tensor_size(self, ds: DataSpace) -> int:
        size = 1
        for rank in ds.ranks:
            size *= 1 + sum(t.coef * (self.bounds[t.dim] - 1) for t in rank)
        return size

    def density_of(self, name: str) -> Density:
        return self.densities.get(name, Density("fixed_structured", 1.0))

    @property
    def is_sparse(self) -> bool:
        return any(d.density < 1.0 for d in self.densities.values())


def parse_problem(reader: Reader, raw: Mapping[str, Any]) -> Problem:
    path: Path = ("problem",)
    prob = reader.mapping(raw, path)
    reader.check_keys(prob, path, {"shape", "instance", "version"})
    shape = reader.mapping(reader.require(prob, "shape", path), path + ("shape",))
    spath = path + ("shape",)
    reader.check_keys(shape, spath, {"name", "dimensions", "coefficients", "data_spaces", "data_space",
                                     "description"})
    dims = tuple(reader.str_list(reader.require(shape, "dimensions", spath), spath + ("dimensions",)))
    if len(set(dims)) != len(dims):
        raise reader.error(spath + ("dimensions",), "duplicate dimension names", "list each dimension once")
    instance = reader.mapping(reader.require(prob, "instance", path), path + ("instance",))
    ipath = path + ("instance",)
    coefs: dict[str, int] = {}
    for i, c in enumerate(reader.seq(shape.get("coefficients"), spath + ("coefficients",))):
        cpath = spath + ("coefficients", i)
        c = reader.mapping(c, cpath)
        reader.check_keys(c, cpath, {"name", "default"})
        cname = reader.string(reader.require(c, "name", cpath), cpath + ("name",))
        coefs[cname] = reader.integer(c.get("default", 1), cpath + ("default",))
    bounds = []
    for d in dims:
        if d not in instance:
            raise reader.error(ipath, f"no bound for dimension '{d}'", f"add '{d}: <size>' under problem.instance")
        bounds.append(reader.integer(instance[d], ipath + (d,), 1))
    for key, value in instance.items():
        if key in dims or key == "densities":
            continue
        if key in coefs:
            coefs[key] = reader.integer(value, ipath + (key,))
            continue
        raise reader.error(ipath + (key,), f"'{key}' is neither a dimension nor a coefficient",
                           "declare it under shape.coefficients or remove it")
    ds_key = "data_spaces" if "data_spaces" in shape else "data_space"
    dataspaces = []
    for i, ds in enumerate(reader.seq(reader.require(shape, ds_key, spath), spath + (ds_key,))):
        dataspaces.append(_dataspace(reader, reader.mapping(ds, spath + (ds_key, i)), spath + (ds_key, i),
                                     dims, coefs))
    names = [d.name for d in dataspaces]
    if len(set(names)) != len(names):
        raise reader.error(spath + (ds_key,), "duplicate dataspace names", "name each dataspace once")
    densities = _densities(reader, instance.get("densities"), ipath + ("densities",), names)
    return Problem(name=str(shape.get("name", "problem")), dims=dims, bounds=tuple(bounds),
                   dataspaces=tuple(dataspaces), densities=densities)


def _dataspace(reader: Reader, ds: Mapping[str, Any], path: Path, dims: tuple[str, ...],
               coefs: Mapping[str, int]) -> DataSpace:
    reader.check_keys(ds, path, {"name", "projection", "read_write"})
    name = reader.string(reader.require(ds, "name", path), path + ("name",))
    rw = ds.get("read_write", False)
    if not isinstance(rw, bool):
        raise reader.error(path + ("read_write",), f"expected true/false, got {rw!r}", "use true or false")
    ranks = []
    ppath = path + ("projection",)
    for r, rank in enumerate(reader.seq(reader.require(ds, "projection", path), ppath)):
        terms = []
        rank_items = rank if isinstance(rank, list) else [rank]
        for t, term in enumerate(rank_items):
            tpath = ppath + (r, t)
            parts = term if isinstance(term, list) else [term]
            dim_names = [p for p in parts if p in dims]
            coef_names = [p for p in parts if p not in dims]
            if len(dim_names) != 1 or len(coef_names) > 1:
                raise reader.error(tpath, f"projection term {parts!r} must name one dimension and at most one "
                                   "coefficient", "write terms as [DIM] or [DIM, COEFFICIENT]")
            coef = 1
            if coef_names:
                cname = coef_names[0]
                if isinstance(cname, int):
                    coef = cname
                elif cname in coefs:
                    coef = coefs[cname]
                else:
                    raise reader.error(tpath, f"unknown coefficient '{cname}'",
                                       "declare it under problem.shape.coefficients")
            terms.append(Term(dim=dims.index(dim_names[0]), coef=coef))
        ranks.append(tuple(terms))
    return DataSpace(name=name, ranks=tuple(ranks), read_write=rw)


def _densities(reader: Reader, raw: Any, path: Path, names: list[str]) -> dict[str, Density]:
    raw = reader.mapping(raw, path)
    out: dict[str, Density] = {}
    for ds, spec in raw.items():
        dpath = path + (ds,)
        targets = names if ds in ("common", "commonDensity") else [ds]
        if ds not in names and ds not in ("common", "commonDensity"):
            raise reader.error(dpath, f"density for unknown dataspace '{ds}'",
                               "use one of: " + ", ".join(names))
        density = _density(reader, spec, dpath)
        for name in targets:
            out[name] = density
    return out


def _density(reader: Reader, spec: Any, path: Path) -> Density:
    if isinstance(spec, (int, float, str)) and not isinstance(spec, bool):  # a bare density ('0.5' too)
        value = reader.number(spec, path)
        _check_density(reader, value, path)
        return Density("fixed_structured", value)
    spec = reader.mapping(spec, path)
    reader.check_keys(spec, path, {"distribution", "density", "band_width", "workload_tensor_size"})
    dist = reader.choice(spec.get("distribution", "fixed_structured"), path + ("distribution",),
                         DISTRIBUTIONS + ("real_data",))
    if dist == "real_data":
        raise reader.error(path + ("distribution",), "'real-data' density needs tensor data files",
                           "use fixed-structured, hypergeometric or banded")
    dist = {"fixed": "fixed_structured", "diagonal": "banded"}.get(dist, dist)
    if dist == "banded":
        width = reader.integer(spec.get("band_width", 0), path + ("band_width",), 0)
        return Density("banded", 1.0, band_width=width)
    value = reader.number(reader.require(spec, "density", path), path + ("density",))
    _check_density(reader, value, path + ("density",))
    return Density(norm_word(dist), value)


def _check_density(reader: Reader, value: float, path: Path) -> None:
    if not 0.0 < value <= 1.0:
        raise reader.error(path, f"density {value} is outside (0, 1]", "use a density in (0, 1]")

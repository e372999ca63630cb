"""A test double of the Backend protocol for the sweep's orchestration tests (grid, cache, resume,
executors, CLI).  It is NOT a model of anything: it derives made-up but deterministic numbers from
the rendered point (GEMM bounds, densities, SMEM size), so tests can tell points apart and see
that a changed input changes the result.  End-to-end tests on the real native backend live in
``test_sweep_native.py``.
"""

from __future__ import annotations

import functools
import os
import signal
import sys
import time
from pathlib import Path

from sparsesweep.backends.base import BackendRegistry, SearchOptions, SearchResult
from sparsesweep.errors import MappingError
from sparsesweep.inputs import SpecBundle
from sparsesweep.result import Computes, LevelResult, Result

LEVELS = ("MAC", "LRF", "RF", "SMEM", "DRAM")
CALLS_ENV = "SWEEP_FAKE_CALLS"  # a file each search appends its point name to (counts real searches)


class FakeBackend:
    name = "fake"

    def __init__(self, fail_layers: tuple[str, ...] = (), delay_s: float = 0.0, crash_layers: tuple[str, ...] = (),
                 fail_matching: tuple[str, ...] = (), stall_after: int = 0, die_layers: tuple[str, ...] = (),
                 die_once: str | None = None, die_says: str = ""):
        self.fail_layers = fail_layers
        self.fail_matching = fail_matching
        self.crash_layers = crash_layers
        self.delay_s = delay_s
        self.stall_after = stall_after  # searches after this many (counted in the calls file) hang
        self.die_layers = die_layers  # layers or point names whose worker process kills itself (SIGKILL, as
        # the OOM killer does)
        self.die_once = die_once  # a file: die only while it does not exist (then create it)
        self.die_says = die_says  # written to the dying worker's standard error (fd 2) first

    def evaluate(self, bundle: SpecBundle, workdir: Path | None = None) -> Result:
        return self.search(bundle, SearchOptions(), workdir).result

    def search(self, bundle: SpecBundle, options: SearchOptions, workdir: Path | None = None) -> SearchResult:
        calls = os.environ.get(CALLS_ENV)
        if calls:
            with open(calls, "a", encoding="utf-8") as fh:
                fh.write(bundle.name + "\n")
            if self.stall_after and len(Path(calls).read_text().splitlines()) > self.stall_after:
                time.sleep(600)  # until the test interrupts the sweep, however slow the machine is
        if self.delay_s:
            time.sleep(self.delay_s)
        layer = bundle.name.split("-", 1)[0]
        dies = layer in self.die_layers or bundle.name in self.die_layers
        if dies and not (self.die_once and os.path.exists(self.die_once)):
            if self.die_once:
                Path(self.die_once).touch()
            if self.die_says:
                os.write(2, (self.die_says + "\n").encode())
            os.kill(os.getpid(), signal.SIGKILL)
        if layer in self.fail_layers or any(text in bundle.name for text in self.fail_matching):
            raise MappingError(f"no valid mapping for {layer} (fake)", key="mapping", fix="a test asked for this")
        if layer in self.crash_layers:
            raise ZeroDivisionError("fake engine bug")
        inst = bundle.data["problem"]["instance"]
        macs = inst["M"] * inst["N"] * inst["K"]
        dens = inst.get("densities", {})
        da = dens.get("A", {}).get("density", 1.0)
        db = dens.get("B", {}).get("density", 1.0)
        smem = _smem_depth(bundle.data["architecture"])
        actual = round(macs * da * db)
        energies = {"MAC": 1.0 * actual, "LRF": 0.5 * actual, "RF": 0.8 * macs * da,
                    "SMEM": 2.0e6 * (1 + 8192 / smem) * (da + db), "DRAM": 4.0e6 * (da + db)}
        levels = {lv: LevelResult(energy_pj=energies[lv], cycles=actual // 1024 + 1) for lv in LEVELS}
        result = Result(source="fake", energy_pj=sum(energies.values()), cycles=actual // 1024 + 1,
                        computes=Computes(algorithmic=macs, actual=actual, skipped=macs - actual), levels=levels)
        mapping = [{"target": "DRAM", "type": "temporal", "factors": f"M={inst['M']} N={inst['N']} K={inst['K']}"}]
        return SearchResult(mapping=mapping, result=result, evaluated=1, seconds=0.0)


def _smem_depth(arch: dict) -> int:
    stack = [arch]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            if node.get("name") == "SMEM":
                return int(node["attributes"]["data_storage_depth"])
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    raise AssertionError("no SMEM in the rendered architecture")


def fake_registry(**kwargs) -> BackendRegistry:
    return BackendRegistry(factories={"fake": functools.partial(FakeBackend, **kwargs)})


def main(argv: list[str]) -> int:
    """``python tests/sweep_fakes.py [--fake-delay S] [--fake-stall-after N] [--fake-fail L,..] [--fake-die L,..]
    [--fake-die-once FILE] [--fake-die-says TEXT] SWEEP-ARGS``: the CLI on the fake."""
    from sparsesweep.sweep.cli import main as sweep_main

    kwargs: dict = {}
    while argv and argv[0].startswith("--fake-"):
        opt, value = argv[0], argv[1]
        argv = argv[2:]
        if opt == "--fake-delay":
            kwargs["delay_s"] = float(value)
        elif opt == "--fake-stall-after":
            kwargs["stall_after"] = int(value)
        elif opt == "--fake-die":
            kwargs["die_layers"] = tuple(value.split(","))
        elif opt == "--fake-die-once":
            kwargs["die_once"] = value
        elif opt == "--fake-die-says":
            kwargs["die_says"] = value
        else:
            kwargs["fail_layers"] = tuple(value.split(","))
    return sweep_main(["--backend", "fake", *argv], registry=fake_registry(**kwargs))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))


class CountingRegistry:
    """A registry whose fake backend counts its searches in this process (inline executor only)."""

    def __init__(self, **kwargs) -> None:
        self.calls: list[str] = []
        self._kwargs = kwargs

    def names(self) -> list[str]:
        return ["fake"]

    def create(self, name: str) -> FakeBackend:
        registry = self

        class Counting(FakeBackend):
            def search(self, bundle, options, workdir=None):
                registry.calls.append(bundle.name)
                return super().search(bundle, options, workdir)

        return Counting(**self._kwargs)


def run_fake(out: Path, cache: Path, registry=None, *, fingerprint: str = "test", executor=None, **config):
    """Build a grid from ``config`` (SweepConfig fields) and run it on the fake backend, in process."""
    from sparsesweep.sweep.grid import SweepConfig, build_grid

    config.setdefault("sparsities", (0, 0.5, 0.75))
    config.setdefault("layers", ("conv1", "fc"))
    return run_fake_grid(build_grid(SweepConfig(**config)), out, cache, registry, fingerprint=fingerprint,
                         executor=executor)


def run_fake_grid(grid, out: Path, cache: Path, registry=None, *, fingerprint: str = "test", executor=None):
    """Run ``grid`` on the fake backend, in process, into ``out`` with the sweep cache at ``cache``."""
    from sparsesweep.sweep.executors import InlineExecutor
    from sparsesweep.sweep.outdir import OutDir
    from sparsesweep.sweep.runner import run_grid
    from sparsesweep.sweep.store import Store

    with OutDir.claim(out) as claimed:
        return run_grid(grid, backend="fake", options=SearchOptions(), registry=registry or CountingRegistry(),
                        store=Store.open(cache), out=claimed, executor_factory=executor or InlineExecutor,
                        progress=False, fingerprint=fingerprint)

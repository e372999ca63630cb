"""Time the energy tables of a 27-setting memory sweep: cold (empty caches) and from the component cache.

Run: .venv/bin/python bench/energy_bench.py   (prints seconds, tables built and component-model calls)

The sweep is --set smem_kib=128,256,512 --set smem_metadata_kib=32,64,128 --set lrf_metadata_bits=x0.5,x1,x2
(both archs, dense and sparse tables: the default source is then ``scaled``).  "Cold" starts from an
empty component cache and also empties hwcomponents-cacti's own folder of CACTI outputs (in this
environment's site-packages), so every distinct memory really runs CACTI once.  Targets: cold < 10 s on
2 cores, cached < 1 s.
"""

from __future__ import annotations

import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

from sparsesweep.energy import CachedModels, Hwcomponents  # noqa: E402
from sparsesweep.sweep.energies import plan_energies  # noqa: E402
from sparsesweep.sweep.grid import SweepConfig, build_grid  # noqa: E402

AXES = (("smem_kib", ("128", "256", "512")), ("smem_metadata_kib", ("32", "64", "128")),
        ("lrf_metadata_bits", ("x0.5", "x1", "x2")))


def _empty_cacti_outputs() -> None:
    import hwcomponents_cacti

    folder = Path(hwcomponents_cacti.__file__).parent / "cacti_inputs_outputs"
    shutil.rmtree(folder, ignore_errors=True)


def _cpu() -> tuple[float, float]:
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime, kids.ru_utime + kids.ru_stime


def main() -> None:
    grid = build_grid(SweepConfig(layers=("conv1",), axes=AXES, schemes=("structured", "unstructured")))
    settings = len(grid.points) // len(grid.variants)
    with tempfile.TemporaryDirectory() as tmp:
        _empty_cacti_outputs()
        cold = CachedModels(Hwcomponents(), folder=Path(tmp) / "components")
        start, cpu0 = time.perf_counter(), _cpu()
        plan = plan_energies(grid, None, cold)
        cold_s, cold_cpu = time.perf_counter() - start, [b - a for a, b in zip(cpu0, _cpu())]
        warm = CachedModels(Hwcomponents(), folder=Path(tmp) / "components")
        start = time.perf_counter()
        plan_energies(grid, None, warm)
        warm_s = time.perf_counter() - start
    print(f"memory settings: {settings}; energy source: {plan.describe()}; tables built: {len(plan.tables)}")
    print(f"cold:   {cold_s:6.2f} s  (component-model calls: {sum(cold.models.calls.values())}, "
          f"by class: {dict(cold.models.calls)})  target < 10 s")
    print(f"        CPU: this process {cold_cpu[0]:.2f} s, CACTI subprocesses {cold_cpu[1]:.2f} s (wall time on a busy "
          "machine exceeds CPU / cores)")
    print(f"cached: {warm_s:6.2f} s  (component-model calls: {sum(warm.models.calls.values())})  target < 1 s")


if __name__ == "__main__":
    main()

"""Regenerate tests/fixtures/hypergeom_boost.json from Boost.Math itself.

Builds hypergeom_pdf.cpp (beside this file) with g++ as Timeloop is built (-O3, C++17; no
fast-math), asks it for the pmf at a fixed, seeded set of (r, n, N, k) that covers the three
evaluation methods (factorial table N <= 170, prime factorisation N <= 104723, Lanczos above)
and their edges, and writes the answers as exact hex floats.  Large supports are stored as a
SHA-256 over their little-endian doubles, plus Timeloop's expected occupancy (the in-order
sum of k * P(k)).  Nothing is typed in by hand: every number in the fixture comes from Boost.

Needs Boost headers (Debian: ``apt-get install libboost-math-dev``) and g++.  Usage::

    python tools/boost_hypergeom/regen_fixture.py            # rewrite the fixture
    python tools/boost_hypergeom/regen_fixture.py --check    # compare a fresh run with it
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import struct
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
SOURCE = HERE / "hypergeom_pdf.cpp"
FIXTURE = HERE.parents[1] / "tests" / "fixtures" / "hypergeom_boost.json"
FLAGS = ["-O3", "-std=c++17", "-Wall", "-Wextra"]
POINT_SUPPORT = 400  # supports up to this size are stored point by point
HASH_SUPPORT = 70000  # larger ones (up to this) as a hash; beyond, sampled points only
PRIME_HASH_SUPPORT = 3000  # prime-method supports are costlier to recompute in the tests
FACTORIAL_LIMIT, PRIME_LIMIT = 170, 104723


def build(workdir: Path) -> Path:
    compiler = shutil.which("g++")
    if compiler is None:
        sys.exit("g++ not found (apt-get install g++)")
    exe = workdir / "hypergeom_pdf"
    result = subprocess.run([compiler, *FLAGS, "-o", str(exe), str(SOURCE)], capture_output=True, text=True)
    if result.returncode:
        sys.exit(f"building {SOURCE.name} failed (Boost headers: apt-get install libboost-math-dev):\n{result.stderr}")
    return exe


def run(exe: Path, lines: list[str]) -> list[str]:
    result = subprocess.run([str(exe)], input="\n".join(lines) + "\n", capture_output=True, text=True, check=True)
    return result.stdout.splitlines()


def bounds(r: int, n: int, total: int) -> tuple[int, int]:
    return max(0, n + r - total), min(n, r)


def shapes() -> list[tuple[int, int, int]]:
    """(r, n, N): edges of every method, tensor sizes of ResNet-50 layers, and seeded random ones."""
    sizes = [1, 2, 5, 17, 64, 128, 169, 170,  # factorial table
             171, 172, 500, 1009, 4096, 9408, 32768, 65536, 73728, 100352, 104723,  # primes
             104724, 131072, 200704, 401408, 1000000, 3211264]  # Lanczos
    out = set()
    for total in sizes:
        for r in {0, 1, total // 7, total // 3, total // 2, total - 1, total}:
            for n in {1, 2, total // 16, total // 4, total // 2, total - 1, total}:
                if 0 <= r <= total and 1 <= n <= total:
                    out.add((r, n, total))
    rng = np.random.default_rng(20240917)
    for low, high, count in ((1, FACTORIAL_LIMIT, 60), (FACTORIAL_LIMIT + 1, PRIME_LIMIT, 60),
                             (PRIME_LIMIT + 1, 4_000_000, 80)):
        for _ in range(count):
            total = int(rng.integers(low, high + 1))
            out.add((int(rng.integers(0, total + 1)), int(rng.integers(1, total + 1)), total))
    return sorted(out, key=lambda s: (s[2], s[0], s[1]))


def sample_ks(r: int, n: int, total: int) -> list[int]:
    """Both support ends, their neighbours and a window around the mean."""
    low, high = bounds(r, n, total)
    mean = n * r // total
    ks = {low, low + 1, high - 1, high} | set(range(mean - 40, mean + 41))
    return sorted(k for k in ks if low <= k <= high)


def empty_ranges() -> list[tuple[int, int, int, int]]:
    """(n, N, r_lo, r_hi): P(a tile of n points is empty) for a range of marked counts r."""
    return [(1, 200704, 100000, 100800), (16, 131072, 0, 600), (3584, 100352, 0, 60), (1024, 73728, 0, 400),
            (8192, 32768, 0, 200), (64, 32768, 30000, 30300), (2, 170, 0, 168), (1, 1, 0, 1), (500, 1000, 0, 501)]


def generate(exe: Path) -> dict:
    meta = dict(line.split(" ", 1) for line in run(exe, ["meta"]))
    compiler = subprocess.run(["g++", "--version"], capture_output=True, text=True).stdout.splitlines()[0]
    points: dict[tuple[int, int, int], dict[int, str]] = {}
    supports = []
    requests, keys = [], []
    for r, n, total in shapes():
        low, high = bounds(r, n, total)
        size = high - low + 1
        limit = PRIME_HASH_SUPPORT if FACTORIAL_LIMIT < total <= PRIME_LIMIT else HASH_SUPPORT
        if size <= POINT_SUPPORT or size > limit:
            ks = range(low, high + 1) if size <= POINT_SUPPORT else sample_ks(r, n, total)
            for k in ks:
                requests.append(f"pmf {r} {n} {total} {k} {k}")
                keys.append((r, n, total))
        else:
            lines = run(exe, [f"pmf {r} {n} {total} {low} {high}", f"mean {r} {n} {total}"])
            values = [float.fromhex(line.split()[1]) for line in lines[:-1]]
            supports.append({"r": r, "n": n, "N": total, "size": size,
                             "sha256": hashlib.sha256(struct.pack(f"<{size}d", *values)).hexdigest(),
                             "mean": float.fromhex(lines[-1]).hex()})
    for n, total, r_lo, r_hi in empty_ranges():
        for r in range(r_lo, r_hi + 1):
            requests.append(f"pmf {r} {n} {total} 0 0")
            keys.append((r, n, total))
    for key, line in zip(keys, run(exe, requests)):
        k, value = line.split()
        points.setdefault(key, {})[int(k)] = float.fromhex(value).hex()
    raw = run(exe, ["fact"] + [f"lsum {z}" for z in lanczos_args()])
    factorials = [line.split()[1] for line in raw[:FACTORIAL_LIMIT + 1]]
    lsums = dict(zip(lanczos_args(), raw[FACTORIAL_LIMIT + 1:]))
    return {
        "generator": "tools/boost_hypergeom/regen_fixture.py",
        "boost": meta, "compiler": compiler, "flags": " ".join(FLAGS),
        "points": [{"r": r, "n": n, "N": total, "k": sorted(ks), "p": [ks[k] for k in sorted(ks)]}
                   for (r, n, total), ks in sorted(points.items(), key=lambda t: (t[0][2], t[0][0], t[0][1]))],
        "supports": supports,
        "factorials_raw": factorials,
        "lanczos_sum_raw": lsums,
    }


def lanczos_args() -> list[str]:
    """Arguments of the Lanczos sum, as raw little-endian x87 bytes (integers, both branches)."""
    return [raw_ld(z) for z in (1, 2, 3, 13, 170, 171, 65537, 104725, 200705, 4_000_001)]


def raw_ld(value: int) -> str:
    return np.longdouble(value).tobytes()[:10].hex()


def dump(data: dict) -> str:
    """JSON with one list item per line (compact, yet diffable)."""
    parts = []
    for key, value in data.items():
        if isinstance(value, list) and value and isinstance(value[0], dict):
            items = ",\n  ".join(json.dumps(v, separators=(",", ":")) for v in value)
            parts.append(f"{json.dumps(key)}: [\n  {items}\n]")
        else:
            parts.append(f"{json.dumps(key)}: {json.dumps(value)}")
    return "{\n" + ",\n".join(parts) + "\n}\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare a fresh run with the committed fixture")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        data = generate(build(Path(tmp)))
    if args.check:
        old = json.loads(FIXTURE.read_text())
        same = {key: old.get(key) == data[key] for key in ("points", "supports", "factorials_raw", "lanczos_sum_raw")}
        print("\n".join(f"{key}: {'same' if ok else 'DIFFERENT'}" for key, ok in same.items()))
        return 0 if all(same.values()) else 1
    FIXTURE.write_text(dump(data))
    print(f"wrote {FIXTURE}: {sum(len(p['k']) for p in data['points'])} points in {len(data['points'])} shapes, "
          f"{len(data['supports'])} hashed supports")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Scene rendering speed on one core: scenes per second at 224 x 224 (goal: at least 20).

Baseline, run in the same process on the same seeds: the same renderer with bounding-sphere culling switched off,
so every ray is intersected exactly with every object (what a plain vectorized caster does). The ratio printed is
culled / unculled; the ratio to the 20 scenes/s goal is printed as well. Speeds are scenes per second of this
process's CPU time (BLAS pinned to one thread), so other load on the machine does not count; wall-clock speed is
printed next to it.

Usage: ``python benchmarks/bench_scenes.py [--num 40 --size 224]``
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from unittest import mock

for _var in ('OMP_NUM_THREADS', 'OPENBLAS_NUM_THREADS', 'MKL_NUM_THREADS'):
    os.environ[_var] = '1'  # one core: set before numpy loads its BLAS
import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from dense.scenes import render_scene  # noqa: E402
from dense.scenes.geometry import Rays  # noqa: E402

GOAL = 20.0


def scenes_per_second(seeds, size) -> tuple[float, float]:
    """(scenes per CPU second, scenes per wall-clock second)."""
    cpu, wall = time.process_time(), time.perf_counter()
    for seed in seeds:
        render_scene(seed, size)
    return len(seeds) / (time.process_time() - cpu), len(seeds) / (time.perf_counter() - wall)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--num', type=int, default=40)
    parser.add_argument('--size', type=int, default=224)
    args = parser.parse_args(argv)
    size, seeds = (args.size, args.size), range(args.num)
    render_scene(0, size)  # warm-up
    fast, fast_wall = scenes_per_second(seeds, size)
    no_culling = lambda rays, bound: np.ones(rays.count, bool)  # noqa: E731
    with mock.patch.object(Rays, 'near', no_culling):
        slow, _ = scenes_per_second(seeds, size)
    print(f'render_scene {size[0]}x{size[1]}: {fast:.1f} scenes per CPU second on one core ({fast_wall:.1f}/s wall); '
          f'without culling {slow:.1f}/s; ratio {fast / slow:.2f}x; vs goal {GOAL:.0f}/s: {fast / GOAL:.2f}x')
    return 0


if __name__ == '__main__':
    sys.exit(main())

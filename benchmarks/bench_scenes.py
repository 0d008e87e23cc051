"""Scene rendering speed on one core: scenes per second at 224 x 224 (goal: at least 20).

Baseline, run in the same process on the same seeds: the same renderer with bounding-sphere culling switched off,
so every ray is intersected exactly with every object (what a plain vectorized caster does). The ratio printed is
culled / unculled; the ratio to the 20 scenes/s goal is printed as well.

Usage: ``python benchmarks/bench_scenes.py [--num 40 --size 224]``
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from unittest import mock

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from dense.scenes import render, render_scene  # noqa: E402

GOAL = 20.0


def scenes_per_second(seeds, size) -> float:
    start = time.perf_counter()
    for seed in seeds:
        render_scene(seed, size)
    return len(seeds) / (time.perf_counter() - start)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--num', type=int, default=40)
    parser.add_argument('--size', type=int, default=224)
    args = parser.parse_args(argv)
    size, seeds = (args.size, args.size), range(args.num)
    render_scene(0, size)  # warm-up
    fast = scenes_per_second(seeds, size)
    no_culling = lambda bound, o, d: np.ones(d.shape[0], bool)  # noqa: E731
    with mock.patch.object(render, 'may_hit', no_culling):
        slow = scenes_per_second(seeds, size)
    print(f'render_scene {size[0]}x{size[1]}: {fast:.1f} scenes/s (one core); without culling {slow:.1f} scenes/s; '
          f'ratio {fast / slow:.2f}x; vs goal {GOAL:.0f}/s: {fast / GOAL:.2f}x')
    return 0


if __name__ == '__main__':
    sys.exit(main())

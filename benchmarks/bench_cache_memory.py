"""P4: peak memory (RSS) of a training run from the feature cache at two data-set sizes (goal: flat, ratio <= 1.1).

Two caches are built (``--items`` and ``--scale`` x as many images; random images, 'test' encoder at ``--size``
so the cache files are large next to the process's baseline). Each measurement is a fresh process that trains a
linear probe for one epoch over a cache through the training data loader (shuffled, batch 8) and reports its peak
RSS (``ru_maxrss``); small and large runs are interleaved, ``--pairs`` of each. The ratio is large / small.
The kNN memory bank's memory is measured by the kNN evaluation's own benchmark. Usage:
    python benchmarks/bench_cache_memory.py [--items 200] [--scale 4] [--size 448] [--pairs 5]
"""
from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import torch
from torch.utils.data import DataLoader

from common import setup  # noqa: I100

from dense.cache import FeatureCache, build_cache, cache_key
from dense.encoders import build_encoder


def _cache(root: str, items: int, size: int) -> Path:
    from bench_cache_step import RandomSegImages
    encoder = build_encoder('test')
    key = cache_key(encoder, (encoder.depth - 1,), dict(type='random', size=size, items=items), dtype='float16')
    return build_cache(encoder, RandomSegImages(items, size, classes=6), key, root, progress=False)


def child(folder: str) -> int:
    """Train a linear probe for one epoch over the cache at ``folder``; return peak RSS in MiB."""
    from probes.tasks import build_task
    from probes.train import ProbeModel, expand_grid
    from probes.train.cached import collate_cached
    cache = FeatureCache(folder)
    encoder = build_encoder('test')
    specs = expand_grid(dict(task='seg', heads=['linear'], layers=[[-1]], lrs=[1e-3]), encoder.depth,
                        encoder.default_layers)
    model = ProbeModel(encoder, {'seg': build_task('seg', num_classes=6)}, specs)
    optim = torch.optim.AdamW(model.probes.parameters(), lr=1e-3)
    for batch in DataLoader(cache, batch_size=8, shuffle=True, collate_fn=collate_cached):
        loss = sum(model(batch, mode='loss').values())
        optim.zero_grad(set_to_none=True)
        loss.backward()
        optim.step()
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024


def _measure(folder: Path) -> int:
    done = subprocess.run([sys.executable, __file__, '--child', str(folder)], capture_output=True, text=True,
                          check=True)
    return int(done.stdout.strip().splitlines()[-1])


def run(items: int = 200, scale: int = 4, size: int = 448, pairs: int = 5) -> dict:
    """Peak RSS (MiB) of cached runs over ``items`` and ``scale * items`` images; medians and the ratio."""
    with tempfile.TemporaryDirectory() as root:
        small, large = _cache(root, items, size), _cache(root, items * scale, size)
        sizes = {name: sum(p.stat().st_size for p in f.glob('shard-*')) / 2**20
                 for name, f in (('small', small), ('large', large))}
        rss = {'small': [], 'large': []}
        for index in range(pairs):
            order = ('small', 'large') if index % 2 == 0 else ('large', 'small')
            for name in order:
                rss[name].append(_measure(small if name == 'small' else large))
    ratios = [b / a for a, b in zip(rss['small'], rss['large'])]
    return dict(items=[items, items * scale], cache_mib=sizes, rss_small_mib=statistics.median(rss['small']),
                rss_large_mib=statistics.median(rss['large']), ratio=statistics.median(ratios),
                ratio_min=min(ratios), ratio_max=max(ratios), pairs=pairs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--items', type=int, default=200)
    parser.add_argument('--scale', type=int, default=4)
    parser.add_argument('--size', type=int, default=448)
    parser.add_argument('--pairs', type=int, default=5)
    parser.add_argument('--threads', type=int, default=1)
    parser.add_argument('--child', help=argparse.SUPPRESS)
    args = parser.parse_args()
    setup(args.threads, 'cpu')
    if args.child:
        print(child(args.child))
        return
    r = run(args.items, args.scale, args.size, args.pairs)
    print(json.dumps(r))
    print(f'P4 cached training, {r["items"][0]} vs {r["items"][1]} images ({r["cache_mib"]["small"]:.0f} vs '
          f'{r["cache_mib"]["large"]:.0f} MiB of shards): peak RSS {r["rss_small_mib"]:.0f} vs '
          f'{r["rss_large_mib"]:.0f} MiB; ratio {r["ratio"]:.3f} (median of {r["pairs"]} interleaved pairs, spread '
          f'{r["ratio_min"]:.3f}-{r["ratio_max"]:.3f})')


if __name__ == '__main__':
    main()

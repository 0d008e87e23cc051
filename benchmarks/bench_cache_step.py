"""P2: a linear-probe training step from the feature cache vs on the fly (ADE-like: 512 px, 150 classes, B/16).

On the fly: encoder forward (bf16 autocast on CUDA) + linear head + cross-entropy + backward + AdamW. From the
cache: the same head step on features read from the cache's shards on disk (reading and collating included). The
cache is built first from random images (the content does not change the cost). A/B interleaved; the ratio is
on-the-fly time / cached time (goal >= 10). Usage:
    python benchmarks/bench_cache_step.py [--variant siglip2-b16-512] [--batch 2] [--device cpu] [--pairs 5]
"""
from __future__ import annotations

import argparse
import tempfile

import torch
from torch.utils.data import Dataset

from common import describe, interleaved, setup  # noqa: I100

from dense.cache import FeatureCache, build_cache, cache_key
from dense.datasets.common import collate
from dense.encoders import build_encoder
from probes.tasks import build_task
from probes.train import ProbeModel, as_config, expand_grid
from probes.train.runner import _optimizer
from probes.train.cached import collate_cached


class RandomSegImages(Dataset):
    """``num`` random images of ``size`` with random ``classes``-way label maps (fixed per index)."""

    def __init__(self, num: int, size: int, classes: int = 150):
        self.num, self.size, self.classes = num, size, classes

    def __len__(self) -> int:
        return self.num

    def __getitem__(self, index: int) -> dict:
        gen = torch.Generator().manual_seed(index)
        return dict(image=torch.rand(3, self.size, self.size, generator=gen),
                    seg=torch.randint(0, self.classes, (self.size, self.size), generator=gen),
                    meta=dict(img_path=f'random/{index}'))


def _step(model: ProbeModel, optim: torch.optim.Optimizer, batch: dict, device) -> None:
    batch = {k: ({i: t.to(device, non_blocking=True) for i, t in v.items()} if k == 'features' else
                 v.to(device, non_blocking=True) if torch.is_tensor(v) else v) for k, v in batch.items()}
    loss = sum(model(batch, mode='loss').values())
    optim.zero_grad(set_to_none=True)
    loss.backward()
    optim.step()


def run(variant: str = 'siglip2-b16-512', batch: int = 2, size: int | None = None, device: str = 'cpu',
        pairs: int = 5, classes: int = 150) -> dict:
    """Build a small cache, then time both steps; returns ``interleaved``'s dict plus the settings."""
    dev = torch.device(device)
    encoder = build_encoder(variant).to(dev)
    size = size or encoder.image_size[0]
    data = RandomSegImages(batch * (pairs + 2), size, classes)
    specs = expand_grid(dict(task='seg', heads=['linear'], layers=[[-1]], lrs=[1e-3]), encoder.depth,
                        encoder.default_layers)
    model = ProbeModel(encoder, {'seg': build_task('seg', num_classes=classes)}, specs).to(dev)
    optim = _optimizer(as_config({}), model).optimizer  # the runner's: per-probe lrs, fused AdamW
    with tempfile.TemporaryDirectory() as root:
        key = cache_key(encoder, model.layers, dict(type='random', size=size), dtype='bfloat16')
        cache = FeatureCache(build_cache(encoder, data, key, root, shard_size=64, device=str(dev), progress=False),
                             key)
        batches = {'fly': 0, 'cache': 0}

        def indices(name: str) -> list[int]:
            start = batches[name] * batch % len(data)
            batches[name] += 1
            return [(start + k) % len(data) for k in range(batch)]

        def fly():
            _step(model, optim, collate([data[k] for k in indices('fly')]), dev)

        def cached():
            _step(model, optim, collate_cached([cache[k] for k in indices('cache')]), dev)

        result = interleaved(cached, fly, pairs=pairs, device=dev)
    return dict(result, variant=variant, batch=batch, size=size, device=str(dev), classes=classes,
                cache_dtype='bfloat16')


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--variant', default='siglip2-b16-512')
    parser.add_argument('--batch', type=int, default=2)
    parser.add_argument('--size', type=int, default=None)
    parser.add_argument('--device', default='cpu')
    parser.add_argument('--pairs', type=int, default=5)
    parser.add_argument('--threads', type=int, default=None)
    args = parser.parse_args()
    setup(args.threads, args.device)
    r = run(args.variant, args.batch, args.size, args.device, args.pairs)
    print(f'P2 {r["variant"]} linear probe, batch {r["batch"]} @ {r["size"]}px, {r["classes"]} classes, '
          f'{r["device"]}: ' + describe(r, 'from cache', 'on the fly', 'speed-up'))


if __name__ == '__main__':
    main()

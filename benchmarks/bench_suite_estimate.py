"""P5: end-to-end estimate of the six-benchmark dense suite (ADE20K, VOC, NYUv2 depth + normals, NAVI depth +
normals) for one encoder on one device, with the feature cache and on the fly.

For each benchmark config (So400m/14-384 protocol configs by default) one training step of its probe grid is timed
from cached features (A) and on the fly (B: encoder forward + the same heads), interleaved. The estimates:
    on the fly = steps x B
    cached     = images x views x (B - A) / batch   (extraction: the encoder part of a step, per image)
               + steps x A
with ``steps`` from the config's schedule (``resolve_schedule``) and ``views`` the augmented views the schedule
draws (``dense.cache.required_views``: 1 without augmentation). Validation / test passes cost the same both ways
and are left out. Steps are timed at ``min(batch, --batch-cap)`` images and scaled linearly to the config's batch.
The training-set sizes are the published ones for ADE20K / VOC-aug; NYUv2-GeoNet and NAVI are assumptions
(pass ``--sizes`` with your copies' counts). Usage:
    python benchmarks/bench_suite_estimate.py [--variant siglip2-so400m14-384] [--device cuda] [--batch-cap 16]
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch

from common import interleaved, setup  # noqa: I100

from dense.cache import required_views
from dense.encoders import build_encoder
from probes.train import as_config, build_model
from probes.train.runner import resolve_schedule

ROOT = Path(__file__).resolve().parents[1]
SUITE = {  # config (a glob: protocol resolutions are in the names), training images
    'ade20k': ('configs/seg/ade20k_linear-dpt_siglip2-so400m14-384.py', 20210),
    'voc': ('configs/seg/voc_linear-dpt_siglip2-so400m14-384.py', 10582),
    'nyu_depth': ('configs/depth/nyu_linear-dpt_siglip2-so400m14-384_probe3d*.py', 24231),
    'nyu_normals': ('configs/normals/nyu_linear-dpt_siglip2-so400m14-384_probe3d*.py', 24231),
    'navi_depth': ('configs/depth/navi_linear-dpt_siglip2-so400m14-384_probe3d*.py', 8000),
    'navi_normals': ('configs/normals/navi_linear-dpt_siglip2-so400m14-384_probe3d*.py', 8000),
}


def _resolution(cfg) -> int:
    """The training input side: the augmentation's crop, else the data set's fixed size."""
    train, augment = cfg.data.train, cfg.data.train.get('augment') or {}
    for size in (augment.get('crop_size'), (augment.get('random_resized_crop') or {}).get('size'),
                 train.get('image_size'), train.get('size')):
        if size:
            return int(size[0] if isinstance(size, (list, tuple)) else size)
    raise ValueError(f'{cfg.filename}: cannot tell the training resolution from data.train')


def _labels(cfg, batch: int, size: int, device) -> dict:
    out = {'image': torch.rand(batch, 3, size, size, device=device)}
    if 'seg' in cfg.tasks:
        out['seg'] = torch.randint(0, cfg.tasks.seg.num_classes, (batch, size, size), device=device)
    if 'depth' in cfg.tasks:
        out['depth'] = torch.rand(batch, size, size, device=device) * 5 + 0.1
    if 'normals' in cfg.tasks:
        out['normals'] = torch.nn.functional.normalize(torch.randn(batch, 3, size, size, device=device), dim=1)
    return out


def estimate(name: str, config: str, images: int, encoder, device, batch_cap: int, pairs: int) -> dict:
    """Per-step times (cached A, on the fly B) of one benchmark and its two totals in GPU-hours."""
    found = sorted(ROOT.glob(config))
    if not found:
        raise FileNotFoundError(f'{ROOT / config}: no config matches')
    cfg = as_config(found[0])
    model = build_model(cfg, encoder).to(device)
    optim = torch.optim.AdamW(model.probes.parameters(), lr=1e-4)
    batch = cfg.get('train_batch_size', 8)
    timed = min(batch, batch_cap)
    data = _labels(cfg, timed, _resolution(cfg), device)
    with torch.no_grad():
        feats, pooled = model.features(data['image'])
    cached = dict(data, features=feats, pooled=pooled if pooled is not None else torch.zeros(timed, 1))
    cached.pop('image')

    def step(batch_dict):
        loss = sum(model(batch_dict, mode='loss').values())
        optim.zero_grad(set_to_none=True)
        loss.backward()
        optim.step()

    r = interleaved(lambda: step(cached), lambda: step(data), pairs=pairs, device=device)
    schedule = resolve_schedule(cfg.schedule, images, batch)
    steps, scale = schedule['max_iters'], batch / timed
    views = required_views(bool(cfg.data.train.get('augment')), steps, batch, images)
    a_s, b_s = r['a_ms'] * scale / 1e3, r['b_ms'] * scale / 1e3
    fly = steps * b_s
    extract = images * views * max(b_s - a_s, 0.0) / batch
    return dict(benchmark=name, resolution=_resolution(cfg), batch=batch, timed_batch=timed, steps=steps,
                images=images, views=views, probes=len(model.specs), cached_step_s=a_s, fly_step_s=b_s,
                step_ratio=r['ratio'], step_ratio_spread=[r['ratio_min'], r['ratio_max']],
                fly_h=fly / 3600, cached_h=(extract + steps * a_s) / 3600, extract_h=extract / 3600)


def run(variant: str = 'siglip2-so400m14-384', device: str = 'cpu', batch_cap: int = 16, pairs: int = 5,
        sizes: dict | None = None, only: list | None = None) -> dict:
    """Every benchmark's estimate and the suite totals."""
    dev = torch.device(device)
    encoder = build_encoder(variant).to(dev)
    rows = [estimate(name, config, (sizes or {}).get(name, images), encoder, dev, batch_cap, pairs)
            for name, (config, images) in SUITE.items() if not only or name in only]
    return dict(variant=variant, device=str(dev), rows=rows, fly_h=sum(r['fly_h'] for r in rows),
                cached_h=sum(r['cached_h'] for r in rows))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--variant', default='siglip2-so400m14-384')
    parser.add_argument('--device', default='cpu')
    parser.add_argument('--batch-cap', type=int, default=16)
    parser.add_argument('--pairs', type=int, default=5)
    parser.add_argument('--threads', type=int, default=None)
    parser.add_argument('--sizes', type=json.loads, default=None, help='JSON {benchmark: training images}')
    parser.add_argument('--only', nargs='+', choices=sorted(SUITE), help='a subset of the benchmarks')
    args = parser.parse_args()
    setup(args.threads, args.device)
    r = run(args.variant, args.device, args.batch_cap, args.pairs, args.sizes, args.only)
    for row in r['rows']:
        print(f'  {row["benchmark"]}: {row["steps"]} steps x batch {row["batch"]} @ {row["resolution"]}px, '
              f'{row["probes"]} probes, {row["views"]} view(s): step {row["cached_step_s"] * 1e3:.0f} ms cached / '
              f'{row["fly_step_s"] * 1e3:.0f} ms on the fly (ratio {row["step_ratio"]:.2f}, spread '
              f'{row["step_ratio_spread"][0]:.2f}-{row["step_ratio_spread"][1]:.2f}) -> {row["cached_h"]:.2f} h '
              f'cached (extraction {row["extract_h"]:.2f} h) vs {row["fly_h"]:.2f} h on the fly')
    print(f'P5 {r["variant"]} on {r["device"]}: six-benchmark suite {r["cached_h"]:.2f} h with the cache, '
          f'{r["fly_h"]:.2f} h on the fly (estimate; training only)')


if __name__ == '__main__':
    main()

"""P3: training step of a 48-probe grid (4 lrs x 3 layer sets x pooled or not x linear / BN-linear) from one frozen
encoder forward vs the step of one probe (same forward). A/B interleaved; the ratio is grid time / one-probe time
(goal <= 1.5: the grid costs little more than the forward it shares). Usage:
    python benchmarks/bench_probe_grid.py [--variant siglip2-b16-224] [--batch 4] [--device cpu] [--pairs 5]
"""
from __future__ import annotations

import argparse

import torch

from common import describe, interleaved, setup  # noqa: I100

from dense.encoders import build_encoder
from probes.tasks import build_task
from probes.train import ProbeModel, as_config, expand_grid
from probes.train.runner import _optimizer

GRID = dict(task='seg', heads=['linear', 'bn_linear'], layers=[[-1], [-2], 'default'], lrs=[1e-2, 3e-3, 1e-3, 3e-4],
            pooled=[False, True])


def run(variant: str = 'siglip2-b16-224', batch: int = 4, device: str = 'cpu', pairs: int = 5,
        classes: int = 150) -> dict:
    """Time one training step of the grid and of its first probe; returns ``interleaved``'s dict."""
    dev = torch.device(device)
    encoder = build_encoder(variant).to(dev)
    specs = expand_grid(GRID, encoder.depth, encoder.default_layers)
    tasks = {'seg': build_task('seg', num_classes=classes)}
    size = encoder.image_size
    batch_data = {'image': torch.rand(batch, 3, *size, device=dev),
                  'seg': torch.randint(0, classes, (batch, *size), device=dev)}

    def stepper(probe_specs):
        model = ProbeModel(encoder, tasks, probe_specs).to(dev)
        optim = _optimizer(as_config({}), model).optimizer  # the runner's: per-probe lrs, fused AdamW

        def step():
            loss = sum(model(batch_data, mode='loss').values())
            optim.zero_grad(set_to_none=True)
            loss.backward()
            optim.step()
        return step

    result = interleaved(stepper(specs[:1]), stepper(specs), pairs=pairs, device=dev)
    return dict(result, variant=variant, batch=batch, size=size[0], device=str(dev), probes=len(specs))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--variant', default='siglip2-b16-224')
    parser.add_argument('--batch', type=int, default=4)
    parser.add_argument('--device', default='cpu')
    parser.add_argument('--pairs', type=int, default=5)
    parser.add_argument('--threads', type=int, default=None)
    args = parser.parse_args()
    setup(args.threads, args.device)
    r = run(args.variant, args.batch, args.device, args.pairs)
    print(f'P3 {r["variant"]} batch {r["batch"]} @ {r["size"]}px {r["device"]}: '
          + describe(r, 'one probe', f'{r["probes"]}-probe grid', 'time ratio grid/one'))


if __name__ == '__main__':
    main()

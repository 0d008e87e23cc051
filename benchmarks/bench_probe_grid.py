"""Training step time of a probe grid from one encoder forward (ours) vs one forward per probe (Probe3D-style
separate runs), same process, same probes, same batches. Prints both and their ratio. Usage:
    .venv/bin/python benchmarks/bench_probe_grid.py [--variant siglip2-b16-224] [--batch 4] [--steps 3]
"""
import argparse
import time

import torch

from dense.encoders import build_encoder
from probes.train import ProbeModel, expand_grid
from probes.tasks import build_task


def train_step(model: ProbeModel, optimizer: torch.optim.Optimizer, batch: dict) -> None:
    """The trainer's step: every probe's loss from one encoder forward (``ProbeModel.forward(mode='loss')``)."""
    loss = sum(model(batch, mode='loss').values())
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()


def seconds_per_step(runs: list, batch: dict, steps: int) -> float:
    for model, optimizer in runs:  # warm-up
        train_step(model, optimizer, batch)
    start = time.perf_counter()
    for _ in range(steps):
        for model, optimizer in runs:
            train_step(model, optimizer, batch)
    return (time.perf_counter() - start) / steps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--variant', default='siglip2-b16-224')
    parser.add_argument('--batch', type=int, default=4)
    parser.add_argument('--steps', type=int, default=3)
    parser.add_argument('--threads', type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    encoder = build_encoder(args.variant)
    grid = dict(task='seg', heads=['linear'], layers=[[-1], 'default'], lrs=[1e-2, 1e-3, 1e-4], pooled=[False, True])
    specs = expand_grid(grid, encoder.depth, encoder.default_layers)
    tasks = {'seg': build_task('seg', num_classes=6)}
    size = encoder.image_size
    batch = {'image': torch.rand(args.batch, 3, *size), 'seg': torch.randint(0, 6, (args.batch, *size))}

    def run(probe_specs):
        model = ProbeModel(encoder, tasks, probe_specs)
        return model, torch.optim.AdamW(model.probes.parameters(), lr=1e-3)

    one_pass = seconds_per_step([run(specs)], batch, args.steps)
    separate = seconds_per_step([run([spec]) for spec in specs], batch, args.steps)
    print(f'{args.variant}, {len(specs)} linear probes, batch {args.batch} @ {size[0]}px, {args.threads} thread(s): '
          f'one forward for the grid {one_pass * 1e3:.0f} ms/step, one forward per probe {separate * 1e3:.0f} '
          f'ms/step; speed-up {separate / one_pass:.1f}x')


if __name__ == '__main__':
    main()

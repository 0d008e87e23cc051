"""P6: one scene-pretraining step (``sprobe pretrain``; the shipped sigmoid recipe's towers and batch) on ``device``
vs on the CPU, A/B interleaved; the ratio is CPU time / device time (the speed-up a GPU gives the reference
encoders' pretraining), and the projected time of the config's ``max_iters`` on the device. Usage:
    python benchmarks/bench_pretrain.py [--device cuda] [--config configs/pretrain/scenes_sigmoid_scenes-64.py]
"""
from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from common import describe, interleaved, setup  # noqa: I100
from mmengine.config import Config

from dense.pretrain.train import Pretrainer

ROOT = Path(__file__).resolve().parents[1]


def run(device: str = 'cuda', config: str = 'configs/pretrain/scenes_sigmoid_scenes-64.py', recipe: str | None = None,
        num_scenes: int = 256, pairs: int = 5, steps: int = 5, threads: int | None = None) -> dict:
    """Time ``steps`` training steps on ``device`` (A) and on the CPU (B), in ``pairs`` interleaved pairs."""
    setup(threads, device)
    config = str(ROOT / config) if not Path(config).is_absolute() else config  # from any working directory
    with tempfile.TemporaryDirectory() as tmp:
        trainers = {}
        for name, dev in (('a', device), ('b', 'cpu')):
            cfg = Config.fromfile(config)
            cfg.device, cfg.work_dir = dev, str(Path(tmp) / name)
            cfg.data['num_scenes'], cfg.data['cache'] = num_scenes, str(Path(tmp) / 'scenes.npz')
            if recipe:
                cfg.recipe = recipe
            trainers[name] = Pretrainer(cfg)

        def stepper(trainer):
            def go():
                for _ in range(steps):
                    trainer.train_step()
            return go

        result = interleaved(stepper(trainers['a']), stepper(trainers['b']), pairs=pairs, device=device)
        step_s = result['a_ms'] / 1e3 / steps
        return dict(result, config=config, recipe=trainers['a'].cfg.recipe, device=device, steps=steps,
                    step_ms=1e3 * step_s, projected_min=trainers['a'].cfg.max_iters * step_s / 60)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--device', default='cuda')
    parser.add_argument('--config', default='configs/pretrain/scenes_sigmoid_scenes-64.py')
    parser.add_argument('--recipe', default=None, help='override the config recipe (e.g. sigmoid+dense+locca)')
    parser.add_argument('--pairs', type=int, default=5)
    parser.add_argument('--steps', type=int, default=5, help='training steps per timed call')
    parser.add_argument('--threads', type=int, default=None)
    args = parser.parse_args()
    r = run(args.device, args.config, args.recipe, pairs=args.pairs, steps=args.steps, threads=args.threads)
    print(describe(r, f'{args.device} ({r["steps"]} steps)', 'cpu', 'cpu/device'))
    print(f'{r["recipe"]}: {r["step_ms"]:.1f} ms a step on {args.device}; its max_iters: {r["projected_min"]:.1f} min')


if __name__ == '__main__':
    main()

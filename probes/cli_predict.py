"""Predict with one trained probe on image files: a class-map PNG (or .npy) per image.

Example: sprobe predict CONFIG --weights run/probes.safetensors --probe seg/linear_l3_lr1e-2 img1.jpg --out preds/
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

from probes.train.evaluate import run_predict


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument('config', help='the config the probes were trained with')
    parser.add_argument('images', nargs='+', help='image files')
    parser.add_argument('--weights', help='probes.safetensors (default: <work_dir>/probes.safetensors)')
    parser.add_argument('--probe', help='probe name (default: the best of its first family in '
                                        '<work_dir>/metrics.json, else the first probe)')
    parser.add_argument('--out', required=True, help='output directory')
    parser.add_argument('--expression', help='referring probes: the expression to ground (writes a box JSON and '
                                             'an overlay per image)')


def _default_probe(work_dir: Path) -> str | None:
    metrics = work_dir / 'metrics.json'
    if not metrics.is_file():
        return None
    best = json.loads(metrics.read_text()).get('best', {})
    return best[sorted(best)[0]]['probe'] if best else None


def run(args: argparse.Namespace) -> int:
    from probes.train.runner import as_config
    cfg = as_config(args.config)
    work_dir = Path(cfg.work_dir)
    weights = args.weights or str(work_dir / 'probes.safetensors')
    probe = args.probe or _default_probe(Path(weights).parent)
    for path in run_predict(cfg, weights, args.images, args.out, probe, expression=args.expression):
        print(path)
    return 0

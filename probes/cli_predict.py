"""Predict with one trained probe on image files: coloured class-map PNGs, or depth / normals as .npy + PNG.

Each image goes through the config's evaluation resize and inference (as `sprobe eval`); the prediction is
written at the image's own size. A class map is a palette PNG: pixel values are class ids, shown in the data
set's colours.

Examples:
  sprobe predict CONFIG photo.jpg --out preds/                       (best probe of <work_dir>/metrics.json)
  sprobe predict CONFIG *.jpg --weights run/probes.safetensors --probe seg/linear_l11_lr1e-3 --overlay --out p/
  sprobe predict CONFIG photo.jpg --out preds/ --device cpu --cfg-options encoder.weights=path/to/siglip2
  sprobe predict DET_CONFIG photo.jpg --out preds/ --overlay --queries "red sphere" cone   (boxes JSON + overlay)
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

from mmengine.config import DictAction

from dense.cli_extract import add_device_argument


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument('config', help='the config the probes were trained with')
    parser.add_argument('images', nargs='+', help='image files')
    parser.add_argument('--weights', help='probes.safetensors (default: <work_dir>/probes.safetensors)')
    parser.add_argument('--probe', help='probe name (default: the best of its first family in '
                                        '<work_dir>/metrics.json, else the first probe)')
    parser.add_argument('--out', required=True, help='output directory')
    parser.add_argument('--overlay', action='store_true', help='also write <name>_overlay.png: the class map '
                        'blended over the image')
    parser.add_argument('--expression', help='referring probes: the expression to ground (writes a box JSON and '
                                             'an overlay per image)')
    parser.add_argument('--queries', nargs='+', help='detection probes: the texts to detect (default: the '
                        'config\'s classes), e.g. --queries "red sphere" cone')
    add_device_argument(parser)
    parser.add_argument('--cfg-options', nargs='+', action=DictAction, default={},
                        help='override config keys, e.g. encoder.weights=DIR work_dir=RUN')


def _default_probe(work_dir: Path) -> str | None:
    metrics = work_dir / 'metrics.json'
    if not metrics.is_file():
        return None
    best = json.loads(metrics.read_text()).get('best', {})
    return best[sorted(best)[0]]['probe'] if best else None


def run(args: argparse.Namespace) -> int:
    from dense.cli_extract import resolve_device
    from probes.train.config import apply_options
    from probes.train.evaluate import run_predict
    from probes.train.runner import as_config
    device = resolve_device(args.device)
    cfg = apply_options(as_config(args.config), args.cfg_options)
    work_dir = Path(cfg.work_dir)
    weights = args.weights or str(work_dir / 'probes.safetensors')
    probe = args.probe or _default_probe(Path(weights).parent)
    for path in run_predict(cfg, weights, args.images, args.out, probe, device=device, overlay=args.overlay,
                            expression=args.expression, queries=args.queries):
        print(path)
    return 0

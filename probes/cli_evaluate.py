"""Run a training-free evaluation (zero-shot segmentation, kNN in-context segmentation, correspondence) from a config.

Examples: sprobe evaluate configs/knn/scenes_knn_test-64_hbird_smoke.py
          sprobe evaluate CONFIG --cfg-options encoder.weights=path/to/siglip2 work_dir=work_dirs/x
The config's ``evaluation = dict(type=...)`` names the evaluation; ``metrics.json`` and figures go to work_dir.
"""
from __future__ import annotations

import argparse

from mmengine.config import DictAction

from dense.cli_extract import add_device_argument


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument('config', help='an evaluation config (configs/zeroshot, configs/knn, configs/correspond)')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction, default={},
                        help='override config keys, e.g. encoder.weights=DIR work_dir=OUT')
    add_device_argument(parser)


def _takes_device(kind) -> bool:
    """Whether the evaluation registered as ``kind`` has a ``device`` option (where its encoder runs)."""
    import inspect
    from probes.evaluations import EVALUATIONS, get_evaluation
    return kind in EVALUATIONS and 'device' in inspect.signature(get_evaluation(kind)).parameters


def run(args: argparse.Namespace, kind: str | None = None) -> int:
    from probes.evaluations import run_evaluation
    from probes.train.results import markdown_table
    from probes.train.config import apply_options
    from probes.train.runner import as_config
    from dense.cli_extract import resolve_device
    cfg = apply_options(as_config(args.config), args.cfg_options)
    if 'evaluation' in cfg and _takes_device(cfg.evaluation.get('type')):
        cfg.evaluation['device'] = resolve_device(args.device)
    results = run_evaluation(cfg, kind=kind)
    print(markdown_table(results, split='test'))
    return 0

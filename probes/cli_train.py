"""Train a grid of probes on a frozen encoder from a config; resumes from the last checkpoint with --resume.

Example: sprobe train configs/seg/scenes_linear-dpt_test-smoke.py --resume
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from mmengine.config import DictAction



def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument('config', help='mmengine python config (configs/seg/...)')
    parser.add_argument('--work-dir', help='override the config work_dir')
    parser.add_argument('--resume', action='store_true', help='continue from the last checkpoint in work_dir')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction, default={},
                        help='override config keys, e.g. schedule.max_iters=100 seed=1')


def load_config(args: argparse.Namespace):
    """The config with --work-dir and --cfg-options applied."""
    from probes.train.config import apply_options
    from probes.train.runner import as_config
    cfg = apply_options(as_config(args.config), args.cfg_options)
    if args.work_dir:
        cfg.work_dir = args.work_dir
    return cfg


def run(args: argparse.Namespace) -> int:
    from probes.train.results import markdown_table
    from probes.train.runner import run_training
    cfg = load_config(args)
    if args.resume and not (Path(cfg.work_dir) / 'last_checkpoint').is_file():
        print(f'note: no checkpoint in {cfg.work_dir} to resume from: training from the start', file=sys.stderr)
    results = run_training(cfg, resume=args.resume)
    for group, best in sorted(results['best'].items()):
        print(f'best {group}: {best["probe"]}')
    print(markdown_table(results, split='test' if 'test' in results['metrics'] else 'val'))
    return 0

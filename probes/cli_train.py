"""Train a grid of probes on a frozen encoder from a config; resumes from the last checkpoint with --resume.

Examples:
  sprobe train configs/seg/scenes_linear-dpt_test-smoke.py
  sprobe train configs/seg/voc_linear-dpt_siglip2-b16-512.py --cfg-options data_root=/data/VOC2012 --resume
  sprobe train configs/seg/custom_linear-dpt_test-smoke.py --work-dir work_dirs/mine --device cpu
The log, TensorBoard events (tensorboard --logdir WORK_DIR), config.py, metrics.json and probes.safetensors go
to the work dir; schedule.val_interval=N validates during training.
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
    add_train_device_argument(parser)


def add_train_device_argument(parser: argparse.ArgumentParser) -> None:
    """``--device`` of the commands that train with mmengine's Runner (see :func:`select_device`)."""
    parser.add_argument('--device', default='auto', help="cpu, cuda or cuda:N (default auto: mmengine's choice, "
                        'cuda when available); multi-GPU runs go through torchrun')


def select_device(device: str) -> None:
    """Make mmengine's Runner (which takes cuda when it sees one) use ``device``: GPUs are hidden for 'cpu', one
    is chosen for 'cuda:N' (``CUDA_VISIBLE_DEVICES``, set before CUDA starts); CUDA asked for but absent is a
    one-line error."""
    import os
    if device == 'auto':
        return
    kind, _, index = device.partition(':')
    if kind == 'cpu':
        os.environ['CUDA_VISIBLE_DEVICES'] = ''
        return
    if kind != 'cuda' or (index and not index.isdigit()):
        raise ValueError(f'--device {device}: use cpu, cuda or cuda:N')
    if index:
        os.environ['CUDA_VISIBLE_DEVICES'] = index
    import torch
    if not torch.cuda.is_available():
        raise ValueError(f'--device {device}: CUDA is not available on this machine (use --device cpu)')


def load_config(args: argparse.Namespace):
    """The config with --work-dir and --cfg-options applied."""
    from probes.train.config import apply_options
    from probes.train.runner import as_config
    cfg = apply_options(as_config(args.config), args.cfg_options)
    if args.work_dir:
        cfg.work_dir = args.work_dir
    return cfg


def run(args: argparse.Namespace) -> int:
    select_device(args.device)
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

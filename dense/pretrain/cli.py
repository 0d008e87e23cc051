"""Pretrain a scene reference encoder (sigmoid, + dense, + locca recipes); resumable; optionally ship it.

Example: sprobe pretrain configs/pretrain/scenes_sigmoid_scenes-64.py --resume --ship scenes-sigmoid
"""
from __future__ import annotations

import argparse

from mmengine.config import Config, DictAction

from dense.cli_extract import add_device_argument


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument('config', help='mmengine python config (configs/pretrain/...)')
    parser.add_argument('--work-dir', help='override the config work_dir')
    parser.add_argument('--resume', action='store_true', help='continue from work_dir/checkpoint.pt')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction, default={},
                        help='override config keys, e.g. max_iters=100 seed=1')
    add_device_argument(parser)
    parser.add_argument('--ship', metavar='NAME', help='copy the result to dense/encoders/shipped/NAME and record '
                        'its sha256 in the manifest')


def run(args: argparse.Namespace) -> int:
    from dense.pretrain.ship import ship
    from dense.pretrain.train import Pretrainer
    cfg = Config.fromfile(args.config)
    cfg.merge_from_dict(args.cfg_options)
    if args.work_dir:
        cfg.work_dir = args.work_dir
    if args.device != 'auto':
        cfg.device = args.device
    out = Pretrainer(cfg).run(resume=args.resume)
    print(f'wrote {out}')
    if args.ship:
        print(f'shipped {ship(out, args.ship)}')
    return 0

"""Evaluate trained probes on a split of the config's data, or render a run's metrics.json as a markdown table.

Examples: sprobe eval CONFIG --weights work_dirs/run/probes.safetensors --split test
          sprobe eval --results work_dirs/run/metrics.json
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

from mmengine.config import DictAction

from dense.cli_extract import add_device_argument



def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument('config', nargs='?', help='the config the probes were trained with')
    parser.add_argument('--weights', help='probes.safetensors of the run (default: <work_dir>/probes.safetensors)')
    parser.add_argument('--split', default='val', help='data split to evaluate (a key of the config data)')
    parser.add_argument('--out', help='write the metrics JSON here')
    parser.add_argument('--results', help='only render this metrics.json as a markdown table')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction, default={},
                        help='override config keys, e.g. data_root=DIR encoder.weights=DIR')
    add_device_argument(parser)


def run(args: argparse.Namespace) -> int:
    from dense.cli_extract import resolve_device
    from dense.io import write_json
    from probes.train.evaluate import run_eval
    from probes.train.results import markdown_table
    if args.results:
        path = Path(args.results)
        if not path.is_file():
            raise FileNotFoundError(f'{path}: results file not found')
        try:
            results = json.loads(path.read_text())
        except (UnicodeDecodeError, json.JSONDecodeError) as err:
            raise ValueError(f'{path}: not a metrics.json written by a run ({err})') from None
        for split in results['metrics']:
            print(markdown_table(results, split=split))
        return 0
    if not args.config:
        raise SystemExit('sprobe eval: give a CONFIG (with --weights) or --results metrics.json')
    from probes.train.config import apply_options
    from probes.train.runner import as_config
    cfg = apply_options(as_config(args.config), args.cfg_options)
    weights = args.weights or str(Path(cfg.work_dir) / 'probes.safetensors')
    metrics, header = run_eval(cfg, weights, args.split, with_header=True, device=resolve_device(args.device))
    table = {**header, 'metrics': {args.split: metrics}}
    if args.out:
        write_json(args.out, table, sort_keys=True)
    print(markdown_table(table, split=args.split))
    return 0

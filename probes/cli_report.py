"""Render runs' results: markdown tables, training curves and a bar chart comparing runs, from their metrics.json.

Examples: sprobe report work_dirs/seg/run_b16_224 work_dirs/seg/run_b16_384 --label encoder
          sprobe report work_dirs/demo/probes --metrics seg/linear/mIoU depth/dpt/rmse
"""
from __future__ import annotations

import argparse
from pathlib import Path

from dense.io import write_bytes


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument('runs', nargs='+', help='run work dirs (or their metrics.json); the first gets the figures')
    parser.add_argument('--metrics', nargs='+', default=None,
                        help="names to compare, e.g. seg/linear/mIoU (default: the selection metric of every "
                             "probe family all runs have)")
    parser.add_argument('--split', default='val')
    parser.add_argument('--label', default='encoder', help="what names a run in the legend: encoder, run, ...")
    parser.add_argument('--pdf', action='store_true', help='also write PDF figures')


def default_metrics(result: dict) -> list[str]:
    """The metric that picks each family's best probe (``task.selection``), e.g. ``seg/linear/mIoU``."""
    from probes.tasks import TASKS
    return [f'{family}/{TASKS[family.split("/")[0]].selection[0]}' for family in result.get('best', {})]


def report(runs: list[str | Path], metrics: list[str] | None = None, split: str = 'val', label: str = 'encoder',
           pdf: bool = False) -> list[Path]:
    """Write ``results.md`` beside each run's metrics.json, and the first run's curves and comparison figure."""
    from probes.train.results import markdown_table
    from visualize.curves import load_results
    from visualize.pipeline import make_run_figures
    results = load_results(runs, split)
    written = []
    for run, result in zip(runs, results):
        folder = Path(run) if Path(run).is_dir() else Path(run).parent
        tables = [f'## {result.get("encoder", "?")} — {split}\n', markdown_table(result, split=split)]
        written.append(write_bytes(folder / 'results.md', '\n'.join(tables).encode()))
    first = Path(runs[0]) if Path(runs[0]).is_dir() else Path(runs[0]).parent
    if not metrics:  # each family's selection metric, where every run has that family
        metrics = [m for m in default_metrics(results[0]) if all(m in r['values'] for r in results)]
        if not metrics:
            raise ValueError(f'{runs[0]} and the other runs share no probe family; name --metrics')
    written += make_run_figures(first, metrics=metrics, compare=list(runs[1:]), label=label, pdf=pdf,
                                split=split)
    return written


def run(args: argparse.Namespace) -> int:
    for path in report(args.runs, args.metrics, args.split, args.label, args.pdf):
        print(path)
    return 0

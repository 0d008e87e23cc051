"""Do depth and normal probes learn anything? DPT probes on a random-init encoder vs trivial baselines.

Trains the DPT depth and normal probes of ``configs/joint/scenes_depth_normals_dpt_tiny96.py`` (one frozen
encoder forward per batch for both) on the embedded scenes, then scores on the test split, with the same
evaluators and aggregation (per image, Probe3D):

* depth RMSE of the probe vs predicting every pixel with the training set's mean depth;
* normal mean angular error of the probe vs predicting every pixel with the most common training normal (the
  mode of the normals binned on a 0.1 grid of their coordinates, then the mean direction inside that bin).

Usage: ``python -m probes.experiments.geo_scenes [--config FILE] [--work-dir DIR] [--max-iters N]``; prints the
numbers and writes ``geo_scenes.json`` beside the run's ``metrics.json``.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import torch
import torch.nn.functional as F

from dense.datasets import build_dataset
from dense.datasets.common import collate
from probes.tasks.depth import DepthTask
from probes.tasks.normals import NormalsTask
from probes.experiments import add_config_arguments, experiment_config
from probes.train import run_training
from dense.io import write_json
from probes.cli_train import add_train_device_argument, select_device

CONFIG = 'configs/joint/scenes_depth_normals_dpt_tiny96.py'


def _batches(dataset, batch_size: int = 16):
    for start in range(0, len(dataset), batch_size):
        yield collate([dataset[i] for i in range(start, min(start + batch_size, len(dataset)))])


def _plain(data_cfg: dict) -> dict:
    """The data set options without training augmentation (baselines are statistics of the labels)."""
    return {k: v for k, v in dict(data_cfg).items() if k != 'augment'}


def training_statistics(dataset) -> tuple[float, torch.Tensor]:
    """Mean depth over valid training pixels and the most common training normal (unit vector)."""
    depth_sum, depth_count, normals = 0.0, 0, []
    for batch in _batches(dataset):
        valid = batch['depth'] > 0
        depth_sum += float(batch['depth'][valid].double().sum())
        depth_count += int(valid.sum())
        n = batch['normals'].permute(0, 2, 3, 1).reshape(-1, 3)
        normals.append(n[n.norm(dim=1) > 0])
    normals = torch.cat(normals)
    cells, inverse, counts = torch.unique(torch.round(normals * 10), dim=0, return_inverse=True,
                                          return_counts=True)
    mode = normals[inverse == counts.argmax()].mean(0)
    return depth_sum / max(depth_count, 1), F.normalize(mode, dim=0)


def baseline_metrics(dataset, depth_task: DepthTask, normals_task: NormalsTask, mean_depth: float,
                     common_normal: torch.Tensor) -> dict[str, dict[str, float]]:
    """Score the constant predictions with the tasks' own evaluators."""
    depth_eval, normal_eval = depth_task.new_evaluator(), normals_task.new_evaluator()
    for batch in _batches(dataset):
        depth_eval.process(torch.full_like(batch['depth'], mean_depth), batch)
        normal_eval.process(common_normal.view(1, 3, 1, 1).expand_as(batch['normals']).contiguous(), batch)
    return {'depth': depth_eval.compute(), 'normals': normal_eval.compute()}


def run_experiment(config: str = CONFIG, work_dir: str | None = None, max_iters: int | None = None,
                   options: dict | None = None) -> dict:
    """Train the probes, compute the baselines, return (and write) the comparison. ``options`` override config
    keys (``--cfg-options``)."""
    cfg = experiment_config(config, work_dir, options)
    if max_iters:
        cfg.schedule.max_iters = max_iters
        cfg.schedule.warmup_iters = min(cfg.schedule.get('warmup_iters', 0), max_iters // 10)
    results = run_training(cfg)
    mean_depth, common_normal = training_statistics(build_dataset(_plain(cfg.data.train)))
    split = 'test' if 'test' in cfg.data else 'val'
    base = baseline_metrics(build_dataset(_plain(cfg.data[split])), DepthTask(**cfg.tasks.depth),
                            NormalsTask(**cfg.tasks.normals), mean_depth, common_normal)
    depth_probe, normal_probe = results['best']['depth/dpt']['probe'], results['best']['normals/dpt']['probe']
    probe = results['metrics'][split]
    summary = {
        'encoder_weights': results['encoder_weights'], 'split': split, 'aggregation': 'per_image',
        'train_mean_depth_m': mean_depth, 'train_most_common_normal': [float(v) for v in common_normal],
        'depth_rmse': {'dpt_probe': probe[f'{depth_probe}/rmse'], 'mean_depth_baseline': base['depth']['rmse']},
        'normals_mean_angular_error_deg': {'dpt_probe': probe[f'{normal_probe}/mean'],
                                           'most_common_normal_baseline': base['normals']['mean']},
    }
    summary['probes_beat_baselines'] = bool(
        summary['depth_rmse']['dpt_probe'] < summary['depth_rmse']['mean_depth_baseline']
        and summary['normals_mean_angular_error_deg']['dpt_probe']
        < summary['normals_mean_angular_error_deg']['most_common_normal_baseline'])
    write_json(Path(cfg.work_dir) / 'geo_scenes.json', summary, sort_keys=True)
    return summary


def format_summary(summary: dict) -> str:
    """A short markdown table of the comparison."""
    d, n = summary['depth_rmse'], summary['normals_mean_angular_error_deg']
    return '\n'.join([
        f"Embedded scenes, {summary['split']} split, per-image aggregation",
        '| metric | DPT probe | baseline |', '|---|---|---|',
        f"| depth RMSE (m) | {d['dpt_probe']:.3f} | {d['mean_depth_baseline']:.3f} (train mean depth "
        f"{summary['train_mean_depth_m']:.2f} m) |",
        f"| normal mean angular error (deg) | {n['dpt_probe']:.2f} | {n['most_common_normal_baseline']:.2f} "
        f"(most common normal {[round(v, 3) for v in summary['train_most_common_normal']]}) |",
        f"probes beat baselines: {summary['probes_beat_baselines']}"])


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Command-line options."""
    add_config_arguments(parser, CONFIG)
    parser.add_argument('--max-iters', type=int, default=None, help='override the training iterations')
    add_train_device_argument(parser)


def run(args: argparse.Namespace) -> int:
    """Run, print the table; exit status 1 if a probe does not beat its baseline."""
    select_device(args.device)
    torch.set_num_threads(min(torch.get_num_threads(), 2))
    summary = run_experiment(args.config, args.work_dir, args.max_iters, args.cfg_options)
    print(format_summary(summary))
    print(json.dumps(summary, indent=1))
    return 0 if summary['probes_beat_baselines'] else 1


if __name__ == '__main__':
    _parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_arguments(_parser)
    sys.exit(run(_parser.parse_args()))

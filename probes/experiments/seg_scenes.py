"""Segmentation probes on the embedded scenes with a random-init encoder, against the majority-class baseline.

Shows that (1) the best linear probe of the grid beats predicting the most frequent training class everywhere
and (2) a DPT probe beats the best linear one; both chosen on the val split and scored on the test split.

    python -m probes.experiments.seg_scenes [--config configs/seg/scenes_linear-dpt_tiny-128.py] [--work-dir DIR]
"""
from __future__ import annotations

import argparse
import sys

import torch

from dense.datasets import build_dataset
from probes.tasks import build_task
from probes.experiments import add_config_arguments, experiment_config
from probes.train import run_training
from dense.io import write_json
from probes.cli_train import add_train_device_argument, select_device

DEFAULT_CONFIG = 'configs/seg/scenes_linear-dpt_tiny-128.py'


def majority_class(dataset, num_classes: int) -> int:
    """The most frequent labelled class of a data set (ignore pixels excluded)."""
    counts = torch.zeros(num_classes, dtype=torch.long)
    for i in range(len(dataset)):
        seg = dataset[i]['seg']
        counts += torch.bincount(seg[seg < num_classes].flatten(), minlength=num_classes)
    return int(counts.argmax())


def majority_baseline(cfg, split: str = 'test') -> dict[str, float]:
    """Metrics of predicting the training set's majority class at every pixel of ``split``."""
    task = build_task('seg', **cfg.tasks['seg'])
    train = build_dataset({k: v for k, v in dict(cfg.data['train']).items() if k != 'augment'})
    label = majority_class(train, task.num_classes)
    evaluator = task.new_evaluator()
    dataset = build_dataset(dict(cfg.data[split]))
    for i in range(len(dataset)):
        seg = dataset[i]['seg'][None]
        evaluator.process(torch.full_like(seg, label), {'seg': seg})
    return evaluator.compute()


def run_experiment(config: str = DEFAULT_CONFIG, work_dir: str | None = None,
                   options: dict | None = None) -> dict[str, float]:
    """Train the grid, compute the baseline; return test mIoU of best linear, best DPT and the baseline.
    ``options`` override config keys (``--cfg-options``)."""
    cfg = experiment_config(config, work_dir, options)
    results = run_training(cfg)
    baseline = majority_baseline(cfg)
    summary = {'encoder_weights': results['encoder_weights'], 'best_linear_probe': results['best']['seg/linear']['probe'],
               'best_linear_mIoU': results['best']['seg/linear']['test']['mIoU'],
               'best_dpt_probe': results['best']['seg/dpt']['probe'],
               'best_dpt_mIoU': results['best']['seg/dpt']['test']['mIoU'],
               'majority_class_mIoU': baseline['mIoU']}
    write_json(f'{cfg.work_dir}/summary.json', summary, sort_keys=True)
    return summary


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Command-line options."""
    add_config_arguments(parser, DEFAULT_CONFIG)
    add_train_device_argument(parser)


def run(args: argparse.Namespace) -> int:
    """Run, print the numbers; exit status 1 unless linear > majority and DPT > linear."""
    select_device(args.device)
    torch.set_num_threads(1)  # the data loader worker takes the second core
    s = run_experiment(args.config, args.work_dir, args.cfg_options)
    print(f"test mIoU  majority class: {s['majority_class_mIoU']:.2f}  "
          f"best linear ({s['best_linear_probe']}): {s['best_linear_mIoU']:.2f}  "
          f"best DPT ({s['best_dpt_probe']}): {s['best_dpt_mIoU']:.2f}")
    ok = s['best_linear_mIoU'] > s['majority_class_mIoU'] and s['best_dpt_mIoU'] > s['best_linear_mIoU']
    print('linear > majority and DPT > linear:', 'yes' if ok else 'NO')
    return 0 if ok else 1


if __name__ == '__main__':
    _parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_arguments(_parser)
    sys.exit(run(_parser.parse_args()))

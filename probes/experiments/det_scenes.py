"""Open-vocabulary detection probes on the embedded scenes against a mean-box baseline.

Trains the OWL-ViT heads of ``configs/det/scenes_owl_tiny-128_ov3of5.py`` (random-init 'tiny' towers; three
shapes seen in training, five queried at test), picks the best on val and scores it on the test split with
COCOeval. The baseline puts, in every test image, one box per class at that class's mean training box (pixels)
with a fixed score; it sees the boxes of all five classes, so it knows more than the head about the novel ones.
Claim: the head's test AP (all five classes) beats the baseline's. Novel-shape AP is reported either way.

    python -m dense.cli det-scenes [--config CONFIG] [--work-dir DIR]
"""
from __future__ import annotations

import argparse
import sys

import torch

from dense.datasets import build_dataset
from dense.io import write_json
from probes.tasks import build_task
from probes.experiments import add_config_arguments, experiment_config
from probes.train import run_training

DEFAULT_CONFIG = 'configs/det/scenes_owl_tiny-128_ov3of5.py'


def mean_boxes(dataset, num_classes: int) -> torch.Tensor:
    """``[C, 4]`` mean ``(x0, y0, x1, y1)`` box of each class over a data set's records (original pixels)."""
    sums, counts = torch.zeros(num_classes, 4, dtype=torch.float64), torch.zeros(num_classes)
    for record in dataset.records:
        for box, label in zip(torch.as_tensor(record['boxes'], dtype=torch.float64), record['labels']):
            sums[label] += box
            counts[label] += 1
    return (sums / counts.clamp_min(1)[:, None]).float()


def mean_box_baseline(cfg, split: str = 'test', score: float = 0.5) -> dict[str, float]:
    """Metrics of predicting each class's mean training box (all classes' boxes) at ``score`` in every image."""
    task = build_task('det', **cfg.tasks['det'])
    train = build_dataset({**dict(cfg.data['train']), 'train': False, 'augment': None})
    means = mean_boxes(train, len(task.class_names))
    evaluator = task.new_evaluator()
    dataset = build_dataset(dict(cfg.data[split]))
    labels = torch.arange(len(task.class_names))
    for i in range(len(dataset)):
        meta = dataset[i]['meta']
        pred = dict(boxes=means * meta['scale'], scores=torch.full((len(labels),), score), labels=labels)
        evaluator.process([pred], {'meta': [meta]})
    return evaluator.compute()


@torch.no_grad()
def overlay_figure(cfg, probe: str, index: int = 0, top: int = 10) -> list:
    """``work_dir/figures/test_boxes.png``: the ``top`` detections of ``probe`` on one test scene
    (visualize.boxes)."""
    from dense.datasets.detection import unletterbox
    from probes.train.evaluate import load_trained
    from visualize._common import save_figure
    from visualize.boxes import draw_boxes
    model = load_trained(cfg, f'{cfg.work_dir}/probes.safetensors', device='cpu')
    dataset = build_dataset(dict(cfg.data['test']))
    sample = dataset[index]
    task = model.tasks['det']
    pred = task.predict(model.infer(sample['image'][None])[probe], tuple(sample['image'].shape[-2:]))[0]
    boxes = unletterbox(pred['boxes'][:top], sample['meta']['scale'], sample['meta']['ori_shape'])
    fig = draw_boxes(dataset.scenes[index].image, boxes, pred['labels'][:top], task.queries, scores=pred['scores'][:top])
    return save_figure(fig, f'{cfg.work_dir}/figures/test_boxes.png')


def run_experiment(config: str = DEFAULT_CONFIG, work_dir: str | None = None, options: dict | None = None) -> dict:
    """Train the heads, compute the baseline; return the test metrics of the best head and of the baseline.
    ``options`` override config keys (``--cfg-options``)."""
    cfg = experiment_config(config, work_dir, options)
    results = run_training(cfg)
    best = results['best']['det/owl']
    baseline = mean_box_baseline(cfg)
    overlay_figure(cfg, best['probe'])
    summary = {'best_probe': best['probe'], 'head': best['test'], 'mean_box_baseline': baseline,
               'encoder_weights': results['encoder_weights']}  # random-init visible
    write_json(f'{cfg.work_dir}/summary.json', summary, sort_keys=True)
    return summary


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Command-line options."""
    add_config_arguments(parser, DEFAULT_CONFIG)


def run(args: argparse.Namespace) -> int:
    """Run, print the numbers; exit status 1 unless the head's test AP beats the mean-box baseline's."""
    torch.set_num_threads(1)
    s = run_experiment(args.config, args.work_dir, args.cfg_options)
    head, base = s['head'], s['mean_box_baseline']
    for name, m in (('mean-box baseline', base), (f"best head ({s['best_probe']})", head)):
        print(f"test {name}: AP {m['AP']:.2f}  AP50 {m['AP50']:.2f}  base-shape AP {m['AP_base']:.2f}  "
              f"novel-shape AP {m['AP_novel']:.2f} (AP50 {m['AP50_novel']:.2f})")
    ok = head['AP'] > base['AP']
    print('head AP > mean-box baseline AP:', 'yes' if ok else 'NO')
    return 0 if ok else 1


if __name__ == '__main__':
    _parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_arguments(_parser)
    sys.exit(run(_parser.parse_args()))

"""Run the demo on the embedded scenes: features, feature figures, a probe, its predictions and metrics.

Every artefact lands in one work dir: ``features.safetensors``, ``figures/`` (patch similarity, PCA maps, the
interactive ``viewer.html``, prediction overlays, training curves, annotated boxes and referring expressions),
``probes/`` (the probe run: ``config.py``, ``metrics.json``, ``probes.safetensors``) and ``demo.json`` (the summary).
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import torch

from dense.encoders import build_encoder
from dense.extract import FeatureExtractor
from dense.features_io import save_features
from dense.io import write_json
from probes.train.results import run_header
from dense.scenes import CLASS_NAMES, SceneSet
from dense.scenes.batch import to_batch
from probes.cli_train import add_train_device_argument, select_device

# the shipped scene-trained encoder by default (it beats random init on segmentation and kNN; docs/encoders.md);
# configs/demo/scenes_tiny224.py runs the random-init 'tiny' one
DEMO_CONFIG = Path(__file__).resolve().parents[1] / 'configs' / 'demo' / 'scenes_scenes-sigmoid-64.py'


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument('--work-dir', default='work_dirs/demo')
    parser.add_argument('--config', default=str(DEMO_CONFIG), help='probe config (mmengine python file)')
    parser.add_argument('--encoder', default=None, help='override the config\'s encoder variant')
    parser.add_argument('--weights', default=None, help='encoder weights (default: the variant\'s shipped weights, '
                        'else random init)')
    parser.add_argument('--num-images', type=int, default=None, help='val scenes in the feature figures')
    add_train_device_argument(parser)


def feature_figures(encoder, work_dir: Path, num_images: int, size: tuple[int, int]) -> list[Path]:
    """Features of val scenes, saved, and drawn: similarity grid from an object's patch, PCA maps, viewer."""
    from visualize.pipeline import make_feature_figures
    scenes = [SceneSet('val', size=size, num=num_images)[i] for i in range(num_images)]
    images = np.stack([s.image for s in scenes])
    feats = FeatureExtractor(encoder, progress=False)(torch.from_numpy(images).permute(0, 3, 1, 2))
    save_features(work_dir / 'features.safetensors', feats, encoder=encoder.variant,
                  encoder_weights_sha256=encoder.weights_sha256)
    x0, y0, x1, y1 = scenes[0].objects[0]['box']
    names = [f'scene {s.seed}' for s in scenes]
    return make_feature_figures(images, feats.layers, work_dir, pixel=((x0 + x1) // 2, (y0 + y1) // 2),
                                names=names)


def annotation_figures(work_dir: Path, size: tuple[int, int]) -> list[Path]:
    """Boxes and one referring expression of a val scene, from its exact annotations."""
    from visualize._common import save_figure
    from visualize.boxes import draw_boxes, draw_referring
    scene = SceneSet('val', size=size, num=1)[0]
    boxes = [o['box'] for o in scene.objects]
    labels = [o['class_id'] for o in scene.objects]
    out = save_figure(draw_boxes(scene.image, boxes, labels, CLASS_NAMES), work_dir / 'figures' / 'boxes.png')
    if scene.expressions:
        expression = scene.expressions[0]
        out += save_figure(draw_referring(scene.image, expression['text'], expression['box'], expression['box']),
                           work_dir / 'figures' / 'referring.png')
    return out


def prediction_figures(cfg, encoder, results: dict, work_dir: Path, num: int = 2) -> list[Path]:
    """Overlays of the best probe of each task on the first ``num`` val scenes."""
    from probes.train.evaluate import load_trained
    from visualize.pipeline import make_prediction_figures
    model = load_trained(cfg, Path(cfg.work_dir) / 'probes.safetensors', encoder, device='cpu')
    val = dict(cfg.data['val'])
    scenes = [SceneSet(val['split'], size=tuple(val['size']), num=num)[i] for i in range(num)]
    batch = to_batch(scenes)
    with torch.no_grad():
        preds = model(batch, mode='predict')[0]['preds']
    best = {group.split('/')[0]: entry['probe'] for group, entry in results['best'].items()}
    chosen = {task: preds[name] for task, name in best.items()}
    truths = {k: batch[k] for k in chosen if k in batch}
    images = np.stack([s.image for s in scenes])
    from probes.train.config import dataset_metainfo
    palette = (dataset_metainfo(cfg) or {}).get('palette')
    return make_prediction_figures(work_dir, images, chosen, truths, class_names=CLASS_NAMES, palette=palette)


def run_demo(work_dir: str | Path = 'work_dirs/demo', config: str | Path = DEMO_CONFIG, encoder: str | None = None,
             weights: str | None = None, num_images: int | None = None) -> dict:
    """The whole demo; returns (and writes as ``demo.json``) the summary with the probe metrics."""
    from probes.train import as_config, run_training
    from visualize.pipeline import make_run_figures
    torch.manual_seed(0)
    work_dir = Path(work_dir)
    cfg = as_config(config)
    cfg.encoder = dict(cfg.encoder, **({'name': encoder} if encoder else {}), weights=weights)
    cfg.work_dir = str(work_dir / 'probes')
    num_images = num_images or cfg.get('feature_figures', {}).get('num_images', 6)
    timings = {}
    start = time.perf_counter()
    enc = build_encoder(cfg.encoder['name'], weights=weights)
    size = tuple(cfg.get('feature_figures', {}).get('size', dict(cfg.data['val'])['size']))
    figures = feature_figures(enc, work_dir, num_images, size) + annotation_figures(work_dir, size)
    timings['features_and_figures_s'] = time.perf_counter() - start
    start = time.perf_counter()
    results = run_training(cfg, encoder=enc)
    timings['probe_training_s'] = time.perf_counter() - start
    figures += prediction_figures(cfg, enc, results, work_dir)
    figures += make_run_figures(cfg.work_dir)
    summary = {**run_header(cfg, enc), 'encoder': enc.variant,
               'best': results['best'], 'timings': timings,
               'figures': sorted(str(Path(p).relative_to(work_dir)) for p in figures
                                 if Path(p).is_relative_to(work_dir))}
    write_json(work_dir / 'demo.json', summary)
    return summary


def run(args: argparse.Namespace) -> int:
    from probes.tasks import TASKS
    select_device(args.device)
    summary = run_demo(args.work_dir, args.config, args.encoder, args.weights, args.num_images)
    for group, entry in summary['best'].items():
        columns = TASKS[group.split('/')[0]].table_metrics
        scores = ', '.join(f'{k} {entry["val"][k]:.3f}' for k in columns if k in entry.get('val', {}))
        print(f'{group}: {entry["probe"]}: {scores}')
    print(f'figures and metrics in {args.work_dir} (summary: {Path(args.work_dir) / "demo.json"})')
    return 0

"""Evaluation and prediction with trained probes, outside the training runner."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch.utils.data import DataLoader
from tqdm import tqdm

from dense.datasets import build_dataset
from dense.datasets.common import collate
from dense.extract import load_image
from dense.io import atomic_path
from probes.train.config import data_options
from probes.train.metric import ProbeMetric
from probes.train.model import ProbeModel
from probes.train.results import run_header, warn_random_weights
from probes.train.runner import as_config, build_encoder_from_config, build_model, load_probe_state


def default_device() -> str:
    """``'cuda'`` when available, else ``'cpu'``."""
    return 'cuda' if torch.cuda.is_available() else 'cpu'


def load_trained(cfg, weights: str | Path, encoder: torch.nn.Module | None = None,
                 device: str | None = None) -> ProbeModel:
    """The config's model with probe weights from ``probes.safetensors``, in eval mode on ``device``."""
    cfg = as_config(cfg)
    model = build_model(cfg, encoder if encoder is not None else build_encoder_from_config(cfg))
    load_probe_state(model, weights)
    return model.to(device or default_device()).eval()


@torch.no_grad()
def evaluate(model: ProbeModel, dataset, batch_size: int = 1) -> dict[str, float]:
    """Every probe's metrics on ``dataset`` (names ``<probe>/<metric>``), with a progress bar."""
    metric = ProbeMetric(model.tasks, list(model.specs.values()))
    loader = DataLoader(dataset, batch_size=batch_size, shuffle=False, collate_fn=collate)
    for batch in tqdm(loader, desc='eval', unit='batch', dynamic_ncols=True):
        metric.process(None, model.test_step(batch))
    metric.evaluate(len(dataset))
    return metric.last_metrics


def run_eval(cfg, weights: str | Path, split: str = 'val', encoder: torch.nn.Module | None = None,
             with_header: bool = False):
    """Evaluate the probes of a trained run on ``cfg.data[split]``; with ``with_header`` also return the
    results header (:func:`probes.train.results.run_header`: config hash, encoder weights) for a results file."""
    cfg = as_config(cfg)
    options = data_options(cfg, split)
    model = load_trained(cfg, weights, encoder)
    warn_random_weights(cfg, model.encoder)
    metrics = evaluate(model, build_dataset(options), cfg.get('val_batch_size', 1))
    return (metrics, run_header(cfg, model.encoder)) if with_header else metrics


def save_prediction(pred: torch.Tensor, path_stem: Path) -> Path:
    """A class map as PNG (uint8 / uint16), anything else as ``.npy``; written atomically."""
    array = pred.cpu().numpy()
    is_label_map = array.dtype.kind in 'iu' and array.ndim == 2 and array.min() >= 0 and array.max() < 65536
    path = path_stem.with_suffix('.png' if is_label_map else '.npy')
    with atomic_path(path) as tmp, open(tmp, 'wb') as handle:
        if is_label_map:
            Image.fromarray(array.astype(np.uint8 if array.max() < 256 else np.uint16)).save(handle, format='PNG')
        else:
            np.save(handle, array)
    return path


@torch.no_grad()
def run_predict(cfg, weights: str | Path, images: list[str], out_dir: str | Path, probe: str | None = None,
                encoder: torch.nn.Module | None = None) -> list[Path]:
    """Predict with one probe (default: the first of the config) for each image; one file per image."""
    model = load_trained(cfg, weights, encoder)
    name = probe or next(iter(model.specs))
    if name not in model.specs:
        raise KeyError(f'unknown probe {name!r}; the config has {sorted(model.specs)}')
    for image_path in images:  # every input checked before anything is written
        if not Path(image_path).is_file():
            raise FileNotFoundError(f'{image_path}: not an image file')
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    device = next(model.probes.parameters()).device
    written = []
    for image_path in tqdm(images, desc='predict', unit='image', dynamic_ncols=True):
        x01 = load_image(image_path)[None].to(device)
        out = model.infer(x01)[name]
        pred = model.tasks[model.specs[name].task].predict(out, tuple(x01.shape[-2:]))[0]
        written.append(save_prediction(pred, out_dir / Path(image_path).stem))
    return written

"""Evaluation and prediction with trained probes, outside the training runner."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from torch.utils.data import DataLoader
from tqdm import tqdm

from dense.datasets import build_dataset
from dense.datasets.common import collate
from dense.extract import load_image
from dense.io import atomic_path, write_json
from probes.train.metric import ProbeMetric
from probes.train.model import ProbeModel
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


def run_eval(cfg, weights: str | Path, split: str = 'val', encoder: torch.nn.Module | None = None) -> dict:
    """Evaluate the probes of a trained run on ``cfg.data[split]``."""
    cfg = as_config(cfg)
    if split not in cfg.data:
        raise KeyError(f'the config has no data.{split}; it has {sorted(cfg.data)}')
    model = load_trained(cfg, weights, encoder)
    return evaluate(model, build_dataset(dict(cfg.data[split])), cfg.get('val_batch_size', 1))


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


def predict_referring(model: ProbeModel, name: str, x01: torch.Tensor, expression: str,
                      size: tuple[int, int] | None) -> dict:
    """One referring probe's box for ``expression`` on one image ``[1, 3, H, W]``, run at ``size`` (the config's
    data size) and returned in the image's own pixels."""
    inputs = F.interpolate(x01, size=tuple(size), mode='bilinear', antialias=True) if size else x01
    out = model.head_outputs(inputs, {'image': inputs, 'expression': [expression]}, [name])[name]
    return model.tasks[model.specs[name].task].predict(out, tuple(x01.shape[-2:]))[0]


def save_referring(pred: dict, image: torch.Tensor, expression: str, path_stem: Path) -> list[Path]:
    """A referring prediction as JSON (expression, pixel box x0 y0 x1 y1) and an overlay PNG (visualize.boxes)."""
    from visualize._common import save_figure
    from visualize.boxes import draw_referring
    box = [round(float(v), 2) for v in pred['box']]
    write_json(path_stem.with_suffix('.json'), dict(expression=expression, box=box))
    pixels = (image.permute(1, 2, 0) * 255).round().byte().cpu().numpy()
    return [path_stem.with_suffix('.json'), *save_figure(draw_referring(pixels, expression, box), path_stem)]


@torch.no_grad()
def run_predict(cfg, weights: str | Path, images: list[str], out_dir: str | Path, probe: str | None = None,
                encoder: torch.nn.Module | None = None, expression: str | None = None) -> list[Path]:
    """Predict with one probe (default: the first of the config) for each image; one file per image.

    Referring probes need ``expression``: they write ``<image>.json`` (the box) and ``<image>.png`` (an overlay).
    """
    model = load_trained(cfg, weights, encoder)
    name = probe or next(iter(model.specs))
    if name not in model.specs:
        raise KeyError(f'unknown probe {name!r}; the config has {sorted(model.specs)}')
    referring = getattr(model.tasks[model.specs[name].task], 'needs_text', False)
    if referring and not expression:
        raise ValueError(f'probe {name} grounds a referring expression: pass --expression "the ..."')
    for image_path in images:  # every input checked before anything is written
        if not Path(image_path).is_file():
            raise FileNotFoundError(f'{image_path}: not an image file')
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    device = next(model.probes.parameters()).device
    written = []
    for image_path in tqdm(images, desc='predict', unit='image', dynamic_ncols=True):
        x01 = load_image(image_path)[None].to(device)
        if referring:
            pred = predict_referring(model, name, x01, expression, cfg.data.get('val', {}).get('size'))
            written += save_referring(pred, x01[0], expression, out_dir / Path(image_path).stem)
            continue
        out = model.infer(x01)[name]
        pred = model.tasks[model.specs[name].task].predict(out, tuple(x01.shape[-2:]))[0]
        written.append(save_prediction(pred, out_dir / Path(image_path).stem))
    return written

"""Evaluation and prediction with trained probes, outside the training runner."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from mmengine.dataset import DefaultSampler
from PIL import Image
from torch.utils.data import DataLoader
from tqdm import tqdm

from dense.datasets import build_dataset
from dense.datasets.common import collate
from dense.extract import load_image
from dense.io import atomic_path, write_json
from probes.train.config import data_options, dataset_metainfo
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
    """Every probe's metrics on ``dataset`` (names ``<probe>/<metric>``), with a progress bar.

    Under torchrun / SLURM each rank scores its share (no padding) and the metrics count every sample once.
    """
    metric = ProbeMetric(model.tasks, list(model.specs.values()))
    loader = DataLoader(dataset, batch_size=batch_size, collate_fn=collate,
                        sampler=DefaultSampler(dataset, shuffle=False, round_up=False))
    for batch in tqdm(loader, desc='eval', unit='batch', dynamic_ncols=True, disable=None):
        metric.process(None, model.test_step(batch))
    metric.evaluate(len(dataset))
    return metric.last_metrics


def run_eval(cfg, weights: str | Path, split: str = 'val', encoder: torch.nn.Module | None = None,
             with_header: bool = False, device: str | None = None):
    """Evaluate the probes of a trained run on ``cfg.data[split]``; with ``with_header`` also return the
    results header (:func:`probes.train.results.run_header`: config hash, encoder weights) for a results file."""
    cfg = as_config(cfg)
    options = data_options(cfg, split)
    model = load_trained(cfg, weights, encoder, device)
    warn_random_weights(cfg, model.encoder)
    metrics = evaluate(model, build_dataset(options), cfg.get('val_batch_size', 1))
    return (metrics, run_header(cfg, model.encoder)) if with_header else metrics


def eval_image_resize(cfg):
    """The evaluation resize of the config's val data (``image_resize`` / ``image_size``: an int short side or
    ``(H, W)``), which ``predict`` applies to every image exactly as ``eval`` does; None keeps the image size."""
    split = 'val' if 'val' in cfg.data else next(iter(cfg.data))
    options = data_options(cfg, split)
    return options.get('image_resize', options.get('image_size'))


def _png(path: Path, image: Image.Image) -> Path:
    with atomic_path(path) as tmp, open(tmp, 'wb') as handle:
        image.save(handle, format='PNG')
    return path


def save_prediction(pred: torch.Tensor, path_stem: Path, image: np.ndarray | None = None,
                    palette=None, overlay: bool = False) -> list[Path]:
    """Write one prediction, atomically.

    A class map: a palette PNG (pixel values are the class ids, shown in the data set's ``palette``; uint16 PNG
    beyond 256 classes), with ``overlay`` also ``<stem>_overlay.png`` blended over ``image``. Depth ``(H, W)``
    and normals ``(3, H, W)``: the ``.npy`` values and a ``_depth.png`` / ``_normals.png`` picture.
    """
    from visualize.overlays import colorize, colorize_segmentation, default_palette, normals_to_rgb
    array = pred.cpu().numpy()
    if array.dtype.kind in 'iu' and array.ndim == 2 and array.min() >= 0 and array.max() < 65536:
        palette = np.asarray(palette if palette is not None else default_palette(int(array.max()) + 1), np.uint8)
        if array.max() < 256:
            picture = Image.fromarray(array.astype(np.uint8), mode='P')
            picture.putpalette(palette[:256].ravel().tolist())
        else:
            picture = Image.fromarray(array.astype(np.uint16))
        written = [_png(path_stem.with_suffix('.png'), picture)]
        if overlay and image is not None and array.max() < len(palette):
            blend = colorize_segmentation(array, palette, image, alpha=0.5)
            written.append(_png(path_stem.with_name(path_stem.name + '_overlay.png'), Image.fromarray(blend)))
        return written
    npy = path_stem.with_suffix('.npy')
    with atomic_path(npy) as tmp, open(tmp, 'wb') as handle:
        np.save(handle, array)
    if array.ndim == 3 and array.shape[0] == 3:
        rgb, kind = normals_to_rgb(array.transpose(1, 2, 0)), 'normals'
    elif array.ndim == 2 and array.dtype.kind == 'f':
        valid = np.isfinite(array) & (array > 0)
        low, high = np.percentile(array[valid], [1, 99]) if valid.any() else (0.0, 1.0)
        rgb, kind = colorize(array, 'turbo', float(low), float(max(high, low + 1e-6)), valid), 'depth'
    else:
        return [npy]
    return [npy, _png(path_stem.with_name(f'{path_stem.name}_{kind}.png'), Image.fromarray(rgb))]


def predict_referring(model: ProbeModel, name: str, x01: torch.Tensor, expression: str,
                      size: tuple[int, int] | None) -> dict:
    """One referring probe's box for ``expression`` on one image ``[1, 3, H, W]``, run at ``size`` (the config's
    data ``size``) and returned in the image's own pixels."""
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
                encoder: torch.nn.Module | None = None, device: str | None = None,
                overlay: bool = False, expression: str | None = None, queries: list[str] | None = None) -> list[Path]:
    """Predict with one probe (default: the first of the config) for each image: the image goes through the
    config's evaluation resize (:func:`eval_image_resize`) and inference settings (whole / slide, scales) as in
    ``eval``, and the prediction comes back at the image's own size (see :func:`save_prediction`). Referring
    probes need ``expression`` and write ``<image>.json`` (the box) and ``<image>.png`` (an overlay); detection
    probes take any ``queries`` (default: the config's classes) and write ``<image>.json`` (boxes in the image's
    pixels) and, with ``overlay``, ``<image>_boxes.png``."""
    from dense.datasets.segmentation import finish_sample
    cfg = as_config(cfg)
    model = load_trained(cfg, weights, encoder, device)
    name = probe or next(iter(model.specs))
    if name not in model.specs:
        raise KeyError(f'unknown probe {name!r}; the config has {sorted(model.specs)}')
    task = model.tasks[model.specs[name].task]
    # referring probes ground one expression; detection (also text-queried) letterboxes and takes any queries
    referring = getattr(task, 'needs_text', False) and not hasattr(task, 'prepare_image')
    if queries is not None:
        if not hasattr(task, 'set_queries'):
            raise ValueError(f'probe {name} takes no text queries (--queries is for detection probes)')
        task.set_queries(list(queries))
    if referring and not expression:
        raise ValueError(f'probe {name} grounds a referring expression: pass --expression "the ..."')
    for image_path in images:  # every input checked before anything is written
        if not Path(image_path).is_file():
            raise FileNotFoundError(f'{image_path}: not an image file')
    resize = eval_image_resize(cfg)
    meta = dataset_metainfo(cfg) or {}
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    device = next(model.probes.parameters()).device
    written = []
    for image_path in tqdm(images, desc='predict', unit='image', dynamic_ncols=True, disable=None):
        x01 = load_image(image_path)
        if referring:
            pred = predict_referring(model, name, x01[None].to(device), expression,
                                     data_options(cfg, 'val' if 'val' in cfg.data else 'test').get('size'))
            written += save_referring(pred, x01, expression, out_dir / Path(image_path).stem)
            continue
        size = tuple(x01.shape[-2:])
        picture = (x01.permute(1, 2, 0) * 255).round().byte().numpy() if overlay else None
        if hasattr(task, 'prepare_image'):  # box tasks: letterboxed input, their own files (boxes JSON, overlay)
            x, info = task.prepare_image(x01, resize)
            pred = task.predict(model.infer(x[None].to(device))[name], tuple(x.shape[-2:]))[0]
            written += task.save_prediction(pred, info, out_dir / Path(image_path).stem, picture)
            continue
        x = finish_sample({'image': x01}, None, resize)['image'][None].to(device)
        pred = task.predict(model.infer(x)[name], size)[0]
        written += save_prediction(pred, out_dir / Path(image_path).stem, picture, meta.get('palette'), overlay)
    return written

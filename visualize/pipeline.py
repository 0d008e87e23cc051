"""From files to figures in a run's work dir: feature figures (similarity grid, PCA maps, viewer) from a
feature file (``sprobe extract``) or an encoder; prediction figures per task; training curves and bars.
Used by ``sprobe viz`` and the demo.
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from PIL import Image

from dense.io import read_image
from visualize._common import as_numpy, check_features, check_images, save_figure
from visualize.curves import draw_bars, draw_curves, load_results, load_scalars
from visualize.overlays import draw_depth, draw_normals, draw_segmentation
from visualize.pca import draw_pca, pca_map
from visualize.similarity import draw_similarity, patch_similarity
from visualize.viewer import build_viewer


def load_images(paths, size: tuple[int, int] | None = None) -> np.ndarray:
    """uint8 ``(N, H, W, 3)``: images read as RGB and resized (bicubic) to ``size=(H, W)``
    (default: the first image's size)."""
    out = []
    for path in paths:
        try:
            image = read_image(path)
        except (OSError, ValueError) as err:
            raise ValueError(f'{path}: cannot read image ({err}); pass --images with the right paths') from None
        size = size or image.shape[:2]
        if image.shape[:2] != tuple(size):
            image = np.asarray(Image.fromarray(image).resize((size[1], size[0]), Image.BICUBIC))
        out.append(image)
    if not out:
        raise ValueError('no images given')
    return np.stack(out)


def make_feature_figures(images, features, out_dir: str | os.PathLike, layers=None, query_image: int = 0,
                         pixel=None, patch=None, names=None, foreground: bool = False,
                         fg_threshold: float = 0.0, viewer_dims: int | None = None, pdf: bool = False,
                         kinds=('similarity', 'pca', 'viewer'), max_rows: int = 4, subtitle: str = '') -> list[Path]:
    """Write the similarity grid, one PCA map per layer and the viewer into ``out_dir``.

    Args:
        images: uint8 ``(N, H, W, 3)``.
        features: ``{layer: (N, C, h, w)}``.
        out_dir: The run's work dir (files go to ``<out_dir>/figures/``).
        layers: Layers to draw (default: all).
        query_image: Index of the query image.
        pixel: Query pixel ``(x, y)``; ``patch``: query patch ``(row, col)``; default: the centre patch.
        names: Image names (file names) for the figures and the viewer.
        foreground: PCA with a foreground mask (threshold ``fg_threshold``).
        viewer_dims: Reduce viewer features to this many dims (smaller file); None keeps all.
        pdf: Also write PDFs.
        kinds: Which outputs to make.
        max_rows: Images in the similarity grid (the query image and the next ones); the viewer has all.
        subtitle: The viewer's subtitle (e.g. encoder and feature file).

    Returns:
        The written paths.
    """
    images = check_images(images)
    feats = check_features(features, images, layers)
    figures = Path(out_dir) / 'figures'
    written = []
    if 'similarity' in kinds:
        if pixel is None and patch is None:
            _, _, h, w = next(iter(feats.values())).shape
            patch = (h // 2, w // 2)
        result = patch_similarity(feats, query_image, pixel=pixel, patch=patch, image_size=images.shape[1:3])
        rows = [query_image] + [i for i in range(len(images)) if i != query_image][:max_rows - 1]
        written += save_figure(draw_similarity(images, result, rows, names=names), figures / 'similarity', pdf)
    if 'pca' in kinds:
        for layer, f in feats.items():
            pca = pca_map(f, foreground=foreground, fg_threshold=fg_threshold)
            written += save_figure(draw_pca(images, pca, layer=layer, names=names), figures / f'pca_layer{layer}',
                                   pdf)
    if 'viewer' in kinds:
        initial = (query_image, *result.patch[list(feats)[-1]]) if 'similarity' in kinds else None
        written.append(build_viewer(images, feats, figures / 'viewer.html', names=names, dims=viewer_dims,
                                    subtitle=subtitle, initial=initial).path)
    return written


def _hwc(x) -> np.ndarray:
    """``(3, H, W)`` (the batch layout) or ``(H, W, 3)`` normals as ``(H, W, 3)``."""
    x = as_numpy(x)
    return x.transpose(1, 2, 0) if x.ndim == 3 and x.shape[0] == 3 and x.shape[-1] != 3 else x


def make_prediction_figures(out_dir: str | os.PathLike, images, preds: dict, truths: dict | None = None,
                            class_names=None, max_images: int = 4, pdf: bool = False, palette=None) -> list[Path]:
    """Write ``figures/<task>_<i>.png`` for the first ``max_images`` images of each predicted task.

    Args:
        out_dir: The run's work dir.
        images: uint8 ``(N, H, W, 3)``.
        preds: ``{'seg': (N, H, W) class ids, 'depth': (N, H, W) metres, 'normals': (N, 3, H, W)}``
            (any subset; the training-batch layout of docs/CONTRACTS.md), at image size.
        truths: The same keys for ground truth (optional).
        class_names: Needed for 'seg'.
        palette: The data set's class colours ``[[r, g, b], ...]`` (``dense.datasets.metainfo``); default tab20.
        max_images: How many images per task.
        pdf: Also write PDFs.
    """
    images = check_images(images)
    truths = truths or {}
    unknown = set(preds) - {'seg', 'depth', 'normals'}
    if unknown:
        raise ValueError(f'predictions for unknown task(s) {sorted(unknown)}; known: seg, depth, normals')
    if 'seg' in preds and class_names is None:
        raise ValueError('segmentation figures need class_names')
    figures, written = Path(out_dir) / 'figures', []
    for task, pred in preds.items():
        truth = truths.get(task)
        for i in range(min(max_images, len(images))):
            t = None if truth is None else truth[i]
            if task == 'seg':
                fig = draw_segmentation(images[i], pred[i], class_names, truth=t, palette=palette)
            elif task == 'depth':
                fig = draw_depth(images[i], pred[i], t)
            else:
                fig = draw_normals(images[i], _hwc(pred[i]), None if t is None else _hwc(t))
            written += save_figure(fig, figures / f'{task}_{i}', pdf)
    return written


def make_run_figures(work_dir: str | os.PathLike, metrics=None, compare=(), label: str = 'encoder',
                     pdf: bool = False, split: str = 'val') -> list[Path]:
    """Training curves from ``<work_dir>/*/vis_data/scalars.json`` and, given ``metrics`` or ``compare`` (other
    runs' work dirs or metrics.json files), a bar chart of ``metrics`` (names as in :func:`load_results`,
    default: all of a flat results file) on ``split`` over this run and those."""
    figures, written = Path(work_dir) / 'figures', []
    written += save_figure(draw_curves(load_scalars(work_dir)), figures / 'training_curves', pdf)
    if compare or metrics:
        results = load_results([work_dir, *compare], split)
        metrics = metrics or sorted(results[0]['values'])
        written += save_figure(draw_bars(results, metrics, label=label), figures / 'comparison', pdf)
    return written

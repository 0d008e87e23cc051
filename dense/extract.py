"""Dense feature extraction from a frozen SigLIP 2 encoder (any input size, NaFlex, sliding window).

Images go through the encoder's own preprocessing (``enc.normalize``: pixels in [0, 1] to [-1, 1] for SigLIP), never
a data set's mean/std. Features come back as per-layer patch grids ``(N, C, h, w)`` plus the MAP-pooled embedding.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from tqdm.auto import tqdm

from .io import read_image, to_rgb8

IMAGE_SUFFIXES = ('.jpg', '.jpeg', '.png', '.bmp', '.webp', '.tif', '.tiff')


@dataclass
class Features:
    """Per-layer patch grids and the pooled embedding of a batch of images."""
    layers: dict[int, torch.Tensor]
    pooled: torch.Tensor
    image_size: tuple[int, int]
    image_paths: list[str] = field(default_factory=list)


def check_pixels(x: torch.Tensor, where: str = 'images') -> torch.Tensor:
    """``x`` unchanged if its pixels are finite and in [0, 1] (the contract of every encoder input); else a
    one-line error (0-255 floats are the usual mistake: the message says to divide by 255)."""
    if not torch.isfinite(x).all():
        raise ValueError(f'{where}: NaN or inf pixel values')
    if not x.numel():
        return x
    low, high = float(x.min()), float(x.max())
    if low < -1e-3 or high > 1 + 1e-3:
        hint = '; 0-255 values? divide by 255 (float images are taken as [0, 1])' if 1 < high <= 255.5 else ''
        raise ValueError(f'{where}: pixel values in [{low:.4g}, {high:.4g}], expected [0, 1]{hint}')
    return x


def load_image(image) -> torch.Tensor:
    """One image (path, PIL image, HxWx3 array or 3xHxW tensor) as float32 (3, H, W) in [0, 1].

    uint8 is divided by 255 and uint16 by 65535; float input must already be in [0, 1] (:func:`check_pixels`).
    """
    if isinstance(image, (str, Path)):
        image = read_image(image)
    elif isinstance(image, Image.Image):
        image = to_rgb8(image, 'PIL image')
    if isinstance(image, np.ndarray):
        if image.ndim == 2:
            image = np.repeat(image[..., None], 3, axis=2)
        if image.ndim != 3 or image.shape[2] not in (3, 4):
            raise ValueError(f'image array of shape {image.shape}: expected (H, W, 3)')
        if image.dtype == np.uint16:
            image = image.astype(np.float32) / 65535.0
        image = torch.from_numpy(np.array(image[..., :3], copy=True)).permute(2, 0, 1)
    if not isinstance(image, torch.Tensor) or image.ndim != 3 or image.shape[0] != 3:
        raise ValueError(f'unsupported image {type(image).__name__}: give a path, PIL image, HxWx3 array or 3xHxW tensor')
    if image.dtype == torch.uint8:
        return image.float() / 255.0
    if not image.is_floating_point():
        raise ValueError(f'image tensor of dtype {image.dtype}: give uint8 (0-255) or float in [0, 1]')
    return check_pixels(image.float(), 'image')


def resize_images(x: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Resize a float batch (N, 3, H, W) like PIL's bicubic resize (antialiased when shrinking)."""
    if tuple(x.shape[-2:]) == tuple(size):
        return x
    return F.interpolate(x, size=size, mode='bicubic', antialias=True, align_corners=False).clamp_(0, 1)


def list_images(folder: str | Path, recursive: bool = False) -> list[Path]:
    """Image files in ``folder`` (and its subfolders with ``recursive``), sorted; a clear error if there are none
    (naming the subfolders that hold images when ``recursive`` is off)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise ValueError(f'{folder}: not a directory')
    found = folder.rglob('*') if recursive else folder.iterdir()
    paths = sorted(p for p in found if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())
    if not paths:
        nested = not recursive and any(p.suffix.lower() in IMAGE_SUFFIXES for p in folder.rglob('*'))
        raise ValueError(f'{folder}: no images ({", ".join(IMAGE_SUFFIXES)})'
                         + ('; its subfolders have some: pass --recursive' if nested else ''))
    return paths


class FeatureExtractor:
    """Batched dense features from a frozen encoder.

    Args:
        encoder: a frozen encoder following the contract in docs/CONTRACTS.md.
        layers: block indices to return (negative counts from the end); default ``encoder.default_layers``.
        image_size: the size every image is resized to in ``__call__``: None for the encoder's native size, an int
            (square) or (H, W). ``iter_images`` instead keeps each image's own size (NaFlex: its aspect ratio under
            ``max_num_patches``; with ``window``: rounded down to whole patches).
        batch_size: images per forward.
        device: where the encoder runs.
        amp: bf16 autocast on CUDA (never on CPU).
        window: sliding-window inference when an image is larger than the encoder's native size; windows of
            the native size, overlapping by ``window_overlap`` (fraction), features averaged on the patch grid.
        max_num_patches: the NaFlex patch budget.
        progress: show a tqdm bar (on a terminal).
        skip_bad: leave out images that cannot be read (listed in ``skipped`` as ``(image, reason)``) instead
            of stopping at the first one.
    """

    def __init__(self, encoder, layers: Sequence[int] | None = None, image_size: int | Sequence[int] | None = None,
                 batch_size: int = 8, device: str | torch.device = 'cpu', amp: bool = True, window: bool = False,
                 window_overlap: float = 0.5, max_num_patches: int = 256, progress: bool = True,
                 skip_bad: bool = False):
        self.encoder = encoder.to(device).eval()
        self.device = torch.device(device)
        depth = encoder.depth
        chosen = encoder.default_layers if layers is None else layers
        self.layers = tuple(sorted({self._check_layer(i, depth) for i in chosen}))
        if image_size is None:
            image_size = encoder.image_size
        self.image_size = (image_size, image_size) if isinstance(image_size, int) else tuple(image_size)
        self.batch_size = batch_size
        self.amp = amp and self.device.type == 'cuda'
        self.window = window
        self.window_overlap = window_overlap
        self.max_num_patches = max_num_patches
        self.progress = progress
        self.skip_bad = skip_bad
        self.skipped: list[tuple[str, str]] = []

    @staticmethod
    def _check_layer(index: int, depth: int) -> int:
        if not -depth <= index < depth:
            raise ValueError(f'layer {index} out of range for an encoder of depth {depth}')
        return index % depth

    @torch.no_grad()
    def forward_batch(self, x01: torch.Tensor):
        """Encoder output for a batch already at its final size, pixels in [0, 1]; no resizing."""
        x = self.encoder.normalize(check_pixels(x01).to(self.device, non_blocking=True))
        with torch.autocast('cuda', dtype=torch.bfloat16, enabled=self.amp):
            return self.encoder(x, layers=self.layers)

    def target_size(self, height: int, width: int) -> tuple[int, int]:
        """The size ``iter_images`` resizes an image of ``height`` x ``width`` to."""
        if getattr(self.encoder, 'naflex', False):
            return tuple(self.encoder.naflex_size(height, width, self.max_num_patches))
        if self.window:
            p = self.encoder.patch_size
            return max(p, height // p * p), max(p, width // p * p)
        return self.image_size

    def __call__(self, images) -> Features:
        """Features of all ``images``, each resized to ``image_size`` (slid over when ``window`` and larger)."""
        images, paths = self._as_list(images)
        size = self.image_size
        chunks, kept = [], []
        batches = range(0, len(images), self.batch_size)
        for start in tqdm(batches, desc='features', unit='batch', disable=(not self.progress or len(batches) < 2) or None):
            loaded = [(k, self._load(images[k])) for k in range(start, min(start + self.batch_size, len(images)))]
            loaded = [(k, x) for k, x in loaded if x is not None]
            if loaded:
                kept += [k for k, _ in loaded]
                chunks.append(self._features(torch.stack([resize_images(x[None], size)[0] for _, x in loaded])))
        if not chunks:
            raise ValueError(f'none of the {len(images)} images could be read (first: {self.skipped[0][1]})')
        layers = {i: torch.cat([c[0][i] for c in chunks]) for i in self.layers}
        return Features(layers, torch.cat([c[1] for c in chunks]), size, [paths[k] for k in kept] if paths else [])

    def iter_images(self, images) -> Iterable[Features]:
        """Features one image at a time at its own size (kept aspect for NaFlex, patch-rounded with ``window``)."""
        images, paths = self._as_list(images)
        for k, image in enumerate(tqdm(images, desc='features', unit='img', disable=(not self.progress) or None)):
            x = self._load(image)
            if x is None:
                continue
            x = x[None]
            size = self.target_size(*x.shape[-2:])
            layers, pooled = self._features(resize_images(x, size))
            yield Features(layers, pooled, size, paths[k:k + 1])

    def _load(self, image) -> torch.Tensor | None:
        """:func:`load_image`; with ``skip_bad`` an unreadable image is recorded in ``skipped`` and gives None."""
        try:
            return load_image(image)
        except (ValueError, OSError) as err:
            if not self.skip_bad:
                raise
            self.skipped.append((str(image) if isinstance(image, (str, Path)) else repr(type(image)), str(err)))
            return None

    def _features(self, batch: torch.Tensor) -> tuple[dict[int, torch.Tensor], torch.Tensor]:
        native = tuple(self.encoder.image_size)
        if self.window and (batch.shape[-2] > native[0] or batch.shape[-1] > native[1]):
            return self._sliding(batch, native)
        out = self.forward_batch(batch)
        return {i: out.layers[i].float().cpu() for i in self.layers}, out.pooled.float().cpu()

    def _sliding(self, batch: torch.Tensor, window: tuple[int, int]) -> tuple[dict[int, torch.Tensor], torch.Tensor]:
        p = self.encoder.patch_size
        height, width = batch.shape[-2:]
        grid = (height // p, width // p)
        sums = {}
        counts = torch.zeros(grid)
        pooled = []
        for top, left in window_origins((height, width), window, self.window_overlap, p):
            crop = batch[..., top:top + window[0], left:left + window[1]]
            out = self.forward_batch(crop)
            ty, tx = top // p, left // p
            for i in self.layers:
                feat = out.layers[i].float().cpu()
                acc = sums.setdefault(i, torch.zeros(feat.shape[0], feat.shape[1], *grid))
                acc[..., ty:ty + feat.shape[-2], tx:tx + feat.shape[-1]] += feat
            counts[ty:ty + crop.shape[-2] // p, tx:tx + crop.shape[-1] // p] += 1
            pooled.append(out.pooled.float().cpu())
        return {i: s / counts for i, s in sums.items()}, torch.stack(pooled).mean(0)

    @staticmethod
    def _as_list(images) -> tuple[list, list[str]]:
        if isinstance(images, torch.Tensor) and images.ndim == 4:
            return list(images), []
        if isinstance(images, (str, Path)) or not isinstance(images, Sequence):
            images = [images]
        images = list(images)
        if not images:
            raise ValueError('no images given')
        return images, [str(im) for im in images if isinstance(im, (str, Path))]


def window_origins(size: tuple[int, int], window: tuple[int, int], overlap: float, patch: int) -> list[tuple[int, int]]:
    """Top-left corners of windows covering ``size``, on the patch grid, the last one flush with the border."""
    def starts(length: int, win: int) -> list[int]:
        if length <= win:
            return [0]
        stride = max(patch, int(win * (1 - overlap)) // patch * patch)
        out = list(range(0, length - win, stride))
        return out + [(length - win) // patch * patch]
    return [(t, l) for t in starts(size[0], window[0]) for l in starts(size[1], window[1])]

"""Hummingbird in-context segmentation (Balažević et al., NeurIPS 2023) as a training-free evaluation.

``evaluation = dict(type='knn', ...)`` in a config; ``sprobe knn CONFIG``. The protocol is open-hummingbird-eval's
(``hbird/hbird_eval.py``: ``hbird_evaluation`` and ``HbirdEvaluation``; ``hbird/utils/transforms.py``):

- memory: every train image, ``augmentation_epochs`` times (the reference's README tables use 2), through
  ``get_hbird_train_transforms``: a shared ``RandomResizedCrop(input_size, scale=(0.5, 2.0), ratio=(3/4, 4/3))``
  (image bilinear with antialias, label nearest) and four independent ``ColorJitter(0.1)`` (brightness, contrast,
  saturation, hue) each applied with p = 0.5; no flip. Patch keys are the encoder's final tokens (the reference's
  ``forward_features``; ``layer=`` picks a block instead), labels per-patch class histograms, a memory budget
  (102,400 / 1,024,000 / 10,240,000) with the rare-class quota of :func:`probes.evaluations.knn_bank.quota_indices`;
- queries: val images resized to ``input_size`` (bilinear, antialias), k = 30 neighbours, ``softmax(q·k / 0.02)``
  over their histograms, the grid bilinearly upsampled, argmax.
- score: plain mIoU (mmseg's definition, ``probes.metrics.segmentation``) is the headline; the reference's
  Hungarian-matched mIoU is reported beside it as ``mIoU_hungarian``.

Differences, all stated: pixels go through the encoder's own ``normalize`` (the reference defaults to ImageNet
mean/std); predictions are scored at each label's own size (``eval_size='label'``; ``'input'`` resizes labels to
``input_size`` with nearest, as the reference does); ignore pixels and unlabelled patches stay out of the memory;
val images without any labelled pixel are skipped and counted (``skipped_val_images``; ``val_images`` scored).
"""
from __future__ import annotations

import math
from pathlib import Path

import torch
import torch.nn.functional as F
from tqdm.auto import tqdm

from probes.evaluations.knn_bank import (SEARCHES, IVFIndex, MemoryBank, patch_histograms, quota_indices,
                                         search_exact, transfer_labels)

IGNORE_INDEX = 255
# hbird/utils/transforms.py: get_hbird_train_transforms defaults
AUGMENT = dict(scale=(0.5, 2.0), ratio=(3 / 4, 4 / 3), jitter=0.1, jitter_p=0.5)


def augment_pair(image: torch.Tensor, seg: torch.Tensor, size: int, scale=(0.5, 2.0), ratio=(3 / 4, 4 / 3),
                 jitter: float = 0.1, jitter_p: float = 0.5) -> tuple[torch.Tensor, torch.Tensor]:
    """One memory augmentation (torch's global RNG): shared random resized crop, then per-property colour jitter."""
    from torchvision import transforms as T
    from torchvision.transforms import InterpolationMode
    from torchvision.transforms import functional as TF
    top, left, height, width = T.RandomResizedCrop.get_params(image, list(scale), list(ratio))
    image = TF.resized_crop(image, top, left, height, width, [size, size], InterpolationMode.BILINEAR,
                            antialias=True).clamp(0, 1)
    seg = TF.resized_crop(seg[None].float(), top, left, height, width, [size, size],
                          InterpolationMode.NEAREST)[0].long()
    for name in ('brightness', 'contrast', 'saturation', 'hue'):
        if torch.rand(1).item() < jitter_p:
            image = T.ColorJitter(**{name: jitter})(image)
    return image, seg


def patch_keys(fx, x01: torch.Tensor, layer: int | None) -> torch.Tensor:
    """Patch features ``[N, h*w, D]`` (float32, cpu): final tokens, or block ``layer``'s output."""
    out = fx.forward_batch(x01)
    if layer is None:
        return out.tokens.float().cpu()
    return out.layers[layer % fx.encoder.depth].float().flatten(2).transpose(1, 2).cpu()


class KNNSegmentation:
    """Build the memory from ``train``, label ``val`` by nearest neighbours, score mIoU.

    Args:
        encoder: Frozen image encoder (docs/CONTRACTS.md).
        work_dir: Run directory (the bank's files go to ``work_dir/bank`` while it runs; figures to ``figures``).
        cfg: The run's config (unused beyond the registry contract).
        train: Data set config (``dense.datasets.build_dataset``) of the memory images, with ``seg``.
        val: Data set config of the query images.
        name: Metric prefix (``voc/mIoU``).
        input_size: Square size images are cropped / resized to (a multiple of the patch size; reference 224).
        memory_size: Bank budget in patches (None: every labelled patch).
        augmentation_epochs: Passes over the train set.
        k: Neighbours per query (30).
        temperature: Softmax temperature (0.02).
        search: ``'exact'`` (faiss IndexFlatIP, chunked), ``'torch'`` (chunked matmul on ``device``) or ``'ivf'``
            (approximate: faiss IVF with fp16 codes, ``nlist`` lists, ``nprobe`` probed).
        layer: Block whose output is the key (None: the final LayerNorm'd tokens).
        batch_size: Images per encoder forward.
        device: Where the encoder (and the 'torch' search) runs.
        seed: Seeds augmentation and the quota noise.
        chunk_rows: Bank rows read at a time.
        query_patches: Query patches searched together (val images are grouped up to this many).
        eval_size: ``'label'`` (score at each label's size) or ``'input'`` (labels resized to ``input_size``).
        augment: Overrides of :data:`AUGMENT`.
        num_figures: Val predictions drawn to ``figures/``.
    """

    def __init__(self, encoder, work_dir, cfg=None, train: dict | None = None, val: dict | None = None,
                 name: str = 'scenes', input_size: int = 224, memory_size: int | None = 102_400,
                 augmentation_epochs: int = 1, k: int = 30, temperature: float = 0.02, search: str = 'exact',
                 nlist: int = 1024, nprobe: int = 32, layer: int | None = None, batch_size: int = 16,
                 device: str = 'cpu', seed: int = 0, chunk_rows: int = 65536, query_patches: int = 16384,
                 eval_size: str = 'label', augment: dict | None = None, num_figures: int = 3):
        if train is None or val is None:
            raise ValueError('knn evaluation: give `train=dict(type=...)` and `val=dict(type=...)` data sets')
        if search not in SEARCHES:
            raise ValueError(f'knn evaluation: search must be one of {SEARCHES}, got {search!r}')
        if eval_size not in ('label', 'input'):
            raise ValueError(f"knn evaluation: eval_size must be 'label' or 'input', got {eval_size!r}")
        if input_size % encoder.patch_size:
            raise ValueError(f'knn evaluation: input_size {input_size} is not a multiple of the patch size '
                             f'{encoder.patch_size}')
        if memory_size is not None and memory_size < k:
            raise ValueError(f'knn evaluation: memory_size {memory_size} is smaller than k = {k}')
        self.encoder, self.work_dir = encoder, Path(work_dir)
        self.train, self.val, self.name = dict(train), dict(val), name
        self.input_size, self.memory_size, self.epochs = int(input_size), memory_size, int(augmentation_epochs)
        self.k, self.temperature, self.search = int(k), float(temperature), search
        self.nlist, self.nprobe, self.layer = nlist, nprobe, layer
        self.batch_size, self.device, self.seed = int(batch_size), device, int(seed)
        self.chunk_rows, self.query_patches, self.eval_size = int(chunk_rows), int(query_patches), eval_size
        self.augment = dict(AUGMENT, **(augment or {}))
        self.num_figures = int(num_figures)
        self.grid = (self.input_size // encoder.patch_size,) * 2

    def run(self) -> dict[str, float]:
        """Build the memory, label the val set, return ``{name}/mIoU``, ``{name}/mIoU_hungarian``, ..."""
        from dense.datasets import build_dataset
        from dense.extract import FeatureExtractor
        train_set, val_set = build_dataset(self.train), build_dataset(self.val)
        if train_set.num_classes != val_set.num_classes:
            raise ValueError(f'knn evaluation: train has {train_set.num_classes} classes, val '
                             f'{val_set.num_classes}; use the same data set for both')
        layers = None if self.layer is None else [self.layer]
        fx = FeatureExtractor(self.encoder, layers=layers, device=self.device, progress=False)
        bank = self.build_bank(fx, train_set)
        try:
            return self.evaluate(fx, val_set, bank)
        finally:
            bank.remove()

    def quota(self, num_images: int) -> int:
        """Patches kept per augmented image: ``max(1, memory_size // (images * epochs))`` (hbird), at most all."""
        per_image = self.grid[0] * self.grid[1]
        if self.memory_size is None:
            return per_image
        return min(per_image, max(1, self.memory_size // (num_images * self.epochs)))

    def build_bank(self, fx, train_set) -> MemoryBank:
        """The memory: augmented train images' keys and histograms, ``quota`` patches per image."""
        quota = self.quota(len(train_set))
        bank = MemoryBank(self.work_dir / 'bank', self.encoder.embed_dim if self.layer is None else
                          self._layer_dim(fx), train_set.num_classes, len(train_set) * self.epochs * quota)
        noise = torch.Generator().manual_seed(self.seed)
        batches = [range(s, min(s + self.batch_size, len(train_set)))
                   for s in range(0, len(train_set), self.batch_size)]
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(self.seed)
            for _ in range(self.epochs):
                for batch in tqdm(batches, desc=f'knn memory ({self.name})', unit='batch'):
                    pairs = [augment_pair(s['image'], s['seg'], self.input_size, **self.augment)
                             for s in (train_set[i] for i in batch)]
                    keys = patch_keys(fx, torch.stack([p[0] for p in pairs]), self.layer)
                    hists = patch_histograms(torch.stack([p[1] for p in pairs]), self.grid, train_set.num_classes)
                    for key, hist in zip(keys, hists):
                        keep = quota_indices(hist, quota, noise)
                        bank.add(key[keep], hist[keep])
        if bank.size < self.k:
            raise ValueError(f'knn evaluation: the memory holds {bank.size} labelled patches, fewer than '
                             f'k = {self.k}; check the train labels')
        return bank

    def _layer_dim(self, fx) -> int:
        probe = torch.zeros(1, 3, self.input_size, self.input_size)
        return patch_keys(fx, probe, self.layer).shape[-1]

    def neighbours(self, bank: MemoryBank, queries: torch.Tensor, index=None):
        """``(sims, indices)`` of the ``k`` nearest keys of L2-normalised ``queries``."""
        if index is not None:
            return index.search(queries, self.k)
        return search_exact(bank, queries, self.k, self.chunk_rows, self.search, self.device)

    def evaluate(self, fx, val_set, bank: MemoryBank) -> dict[str, float]:
        """Label every val image with a labelled pixel; plain and Hungarian-matched metrics."""
        from probes.metrics.hungarian import confusion_matrix, hungarian_metrics
        from probes.metrics.segmentation import SegEvaluator
        index = IVFIndex(bank, self.nlist, self.nprobe, self.chunk_rows) if self.search == 'ivf' else None
        num_classes = val_set.num_classes
        evaluator = SegEvaluator(num_classes, IGNORE_INDEX, val_set.class_names)
        confusion = torch.zeros(num_classes, num_classes, dtype=torch.int64)
        per_block = max(1, self.query_patches // (self.grid[0] * self.grid[1]))
        skipped, scored, pending = 0, 0, []
        for i in tqdm(range(len(val_set)), desc=f'knn queries ({self.name})', unit='img'):
            sample = val_set[i]
            if bool((sample['seg'] == IGNORE_INDEX).all()):
                skipped += 1
            else:
                pending.append(sample)
            if pending and (len(pending) == per_block or i == len(val_set) - 1):
                for image, pred, label in self._predict(fx, bank, index, pending):
                    evaluator.process(pred[None], {'seg': label[None]})
                    confusion += confusion_matrix(pred, label, num_classes)
                    if scored < self.num_figures:
                        self._figure(scored, image, pred, label, val_set.class_names)
                    scored += 1
                pending = []
        if scored == 0:
            raise ValueError(f'knn evaluation ({self.name}): none of the {len(val_set)} val images has a labelled '
                             'pixel (all 255); check the val labels')
        metrics = evaluator.compute()
        if not math.isfinite(metrics['mIoU']):
            raise ValueError(f'knn evaluation ({self.name}): mIoU is not finite')
        out = {f'{self.name}/{key}': value for key, value in metrics.items()}
        out[f'{self.name}/mIoU_hungarian'] = hungarian_metrics(confusion, val_set.class_names)['mIoU']
        out[f'{self.name}/memory_rows'] = float(bank.size)
        out[f'{self.name}/val_images'] = float(scored)
        out[f'{self.name}/skipped_val_images'] = float(skipped)
        return out

    def _predict(self, fx, bank: MemoryBank, index, samples: list[dict]):
        """Yield ``(image uint8 HWC, prediction [H, W], label [H, W])`` of each sample, at the scoring size."""
        size = [self.input_size] * 2
        x = torch.cat([F.interpolate(s['image'][None], size=size, mode='bilinear', align_corners=False,
                                     antialias=True) for s in samples]).clamp(0, 1)
        queries = F.normalize(patch_keys(fx, x, self.layer).flatten(0, 1), dim=1)
        sims, idx = self.neighbours(bank, queries, index)
        hats = transfer_labels(bank, sims, idx, self.temperature, self.chunk_rows)
        hats = hats.view(len(samples), *self.grid, -1).permute(0, 3, 1, 2)
        for sample, hat, x_i in zip(samples, hats, x):
            label, image = sample['seg'], sample['image']
            if self.eval_size == 'input':
                label = F.interpolate(label[None, None].float(), size=size, mode='nearest')[0, 0].long()
                image = x_i
            scores = F.interpolate(hat[None], size=tuple(label.shape), mode='bilinear', align_corners=False)
            yield (image * 255).round().byte().permute(1, 2, 0).numpy(), scores[0].argmax(0), label

    def _figure(self, i: int, image, pred: torch.Tensor, label: torch.Tensor, class_names) -> None:
        from visualize._common import save_figure
        from visualize.overlays import draw_segmentation
        save_figure(draw_segmentation(image, pred.numpy(), list(class_names), truth=label.numpy()),
                    self.work_dir / 'figures' / f'knn_{self.name}_{i}.png')

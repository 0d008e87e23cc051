"""Training-free open-vocabulary segmentation with the SigLIP 2 towers: ``evaluation = dict(type='zeroshot', ...)``.

The protocol of SCLIP / NACLIP (wangf3014/SCLIP ``clip_segmentor.py``: ``forward_slide``, ``postprocess_result``;
sinahmr/NACLIP ``naclip.py``), with SigLIP's towers: each test image resized to its benchmark's short side
(:mod:`probes.zeroshot.benchmarks`), cut into windows of the encoder's native size with half-size stride, every
window's text-aligned patch embeddings (:mod:`probes.zeroshot.methods`, all methods from one encoder forward per
image) L2-normalised and dotted with the template-averaged class-query embeddings (80 ImageNet templates), the
cosine maps upsampled to the window and averaged over overlaps, upsampled to the label size, multiplied by
``logit_scale`` (a setting: SCLIP 40-65, NACLIP 40) and soft-maxed over queries; a class scores its best query;
background where the best class probability is under ``prob_thd`` (VOC-21, Context-60, COCO-Object). mIoU by mmseg's
IoUMetric definition (:mod:`probes.metrics.segmentation`). Differences, stated: no PAMR, no SCLIP area threshold.
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from tqdm.auto import tqdm

from probes.zeroshot.benchmarks import Benchmark, class_queries, get_benchmark
from probes.zeroshot.methods import METHODS, text_aligned_patches

IGNORE_INDEX = 255


def resize_short_side(image: torch.Tensor, short: int | None, long_max: int = 2048) -> torch.Tensor:
    """mmseg ``Resize(scale=(long_max, short), keep_ratio=True)`` of a ``(3, H, W)`` image (bilinear, no antialias)."""
    if short is None:
        return image
    h, w = image.shape[-2:]
    factor = min(long_max / max(h, w), short / min(h, w))
    size = (int(h * factor + 0.5), int(w * factor + 0.5))
    return F.interpolate(image[None], size=size, mode='bilinear', align_corners=False)[0].clamp(0, 1)


def windows(height: int, width: int, crop: tuple, stride: tuple) -> list:
    """SCLIP ``forward_slide``'s windows ``(y1, y2, x1, x2)``: the last row / column flush with the image edge."""
    out = []
    rows = max(height - crop[0] + stride[0] - 1, 0) // stride[0] + 1
    cols = max(width - crop[1] + stride[1] - 1, 0) // stride[1] + 1
    for r in range(rows):
        for c in range(cols):
            y2, x2 = min(r * stride[0] + crop[0], height), min(c * stride[1] + crop[1], width)
            out.append((max(y2 - crop[0], 0), y2, max(x2 - crop[1], 0), x2))
    return out


def predict_classes(cosine: torch.Tensor, owner: torch.Tensor, num_classes: int, logit_scale: float,
                    prob_thd: float | None) -> torch.Tensor:
    """Class map ``(H, W)`` from per-query cosine maps ``(Q, H, W)`` (SCLIP ``postprocess_result``).

    Softmax over queries of ``logit_scale * cosine``, a class's probability = its best query's, argmax; with
    ``prob_thd``, pixels whose best class probability is below it become class 0 (background).
    """
    probs = (cosine * logit_scale).softmax(0)
    index = owner.view(-1, 1, 1).expand_as(probs)
    per_class = probs.new_full((num_classes, *probs.shape[1:]), -1.0).scatter_reduce(0, index, probs, 'amax')
    best, pred = per_class.max(0)
    if prob_thd is not None:
        pred[best < prob_thd] = 0
    return pred


@dataclass
class _Spec:
    """A prepared benchmark (see :meth:`ZeroShotSegmentation.prepare`)."""
    bench: Benchmark
    data: dict
    names: list
    num: int | None
    short: int | None
    owner: torch.Tensor
    queries: torch.Tensor
    prob_thd: float | None
    evaluators: dict


class ZeroShotSegmentation:
    """Zero-shot segmentation of every benchmark by every method.

    Args:
        encoder: Frozen image encoder (docs/CONTRACTS.md).
        work_dir: Run directory (``figures/``, ``zeroshot_results.md``).
        cfg: The run's config; its ``text_encoder`` (else the encoder's name / weights / seed) names the text tower.
        benchmarks: ``[dict(name='voc21' | 'voc20' | ..., data=<data set config>, short_side=None, prob_thd=None)]``.
        methods: From :data:`probes.zeroshot.methods.METHODS`.
        templates: Template set for the class queries (``'imagenet80'``, ``'short'``, or a list).
        logit_scale: Softmax temperature applied to the cosine maps.
        prob_thd: Background threshold for benchmarks with a background class.
        gaussian_std: NACLIP's window std (patches).
        stride: Window stride in pixels (default half the native size).
        device: Where the towers run (default: CUDA when available).
        num_figures: Overlays drawn per benchmark and method.
    """

    def __init__(self, encoder, work_dir, cfg=None, benchmarks=(), methods=METHODS, templates='imagenet80',
                 logit_scale: float = 40.0, prob_thd: float = 0.1, gaussian_std: float = 5.0, stride=None,
                 device: str | None = None, num_figures: int = 2):
        if not benchmarks:
            raise ValueError('zeroshot evaluation: no benchmarks; give benchmarks=[dict(name=..., data=...)]')
        self.encoder, self.work_dir, self.cfg = encoder, Path(work_dir), cfg
        self.benchmarks, self.methods = [dict(b) for b in benchmarks], tuple(methods)
        unknown = sorted(set(self.methods) - set(METHODS))
        if unknown or not self.methods:
            raise KeyError(f'zeroshot evaluation: unknown or no methods {unknown}; known: {list(METHODS)}')
        self.templates, self.logit_scale, self.prob_thd = templates, float(logit_scale), float(prob_thd)
        if device is None:
            device = 'cuda' if torch.cuda.is_available() else 'cpu'
        elif str(device).startswith('cuda') and not torch.cuda.is_available():
            raise ValueError(f'zeroshot evaluation: device={device!r} but CUDA is not available; use device=\'cpu\'')
        self.gaussian_std, self.device, self.num_figures = float(gaussian_std), device, int(num_figures)
        crop = tuple(encoder.image_size)
        self.crop = crop
        self.stride = tuple(stride) if isinstance(stride, (list, tuple)) else (stride or crop[0] // 2,
                                                                                 stride or crop[1] // 2)

    def text_tower(self):
        """The frozen text tower of ``cfg.text_encoder`` (default: the image encoder's checkpoint)."""
        from probes.train.runner import build_text_encoder_from_config
        from mmengine.config import Config
        cfg = self.cfg if self.cfg is not None else Config(dict(encoder=dict(name=self.encoder.variant)))
        text = build_text_encoder_from_config(cfg).to(self.device)
        if text.embed_dim != self.encoder.embed_dim:
            raise ValueError(f'text tower {text.variant} embeds in {text.embed_dim} dims but the image encoder '
                             f'{self.encoder.variant} pools to {self.encoder.embed_dim}; pick matching towers')
        return text

    def run(self) -> dict:
        self.encoder.to(self.device)
        text = self.text_tower()
        groups = {}  # benchmarks reading the same images at the same size share each image's encoder forward
        for options in self.benchmarks:
            spec = self.prepare(text, **options)
            key = json.dumps([spec.data, spec.short, spec.num], sort_keys=True, default=str)
            groups.setdefault(key, []).append(spec)
        metrics = {}
        for specs in groups.values():
            metrics.update(self.evaluate(specs))
        self._write_table(metrics)
        return metrics

    def prepare(self, text, name: str, data: dict, short_side='default', prob_thd=None, num=None) -> '_Spec':
        """One benchmark's queries (embedded), class owners, labels rule, resolution and evaluators."""
        from probes.metrics.segmentation import SegEvaluator
        bench = get_benchmark(name)
        queries = class_queries(bench)
        names = ['background' if c == 0 and bench.background else qs[0] for c, qs in enumerate(queries)]
        flat = [q for qs in queries for q in qs]
        unique = list(dict.fromkeys(flat))  # COCO-Object asks 'bed' as background and as a class, like the reference
        embedded = text.class_embeddings(unique, self.templates).to(self.device)
        return _Spec(
            bench=bench, data=dict(data), names=names, num=None if num is None else int(num),
            short=bench.short_side if short_side == 'default' else short_side,
            owner=torch.tensor([c for c, qs in enumerate(queries) for _ in qs], device=self.device),
            queries=embedded[torch.tensor([unique.index(q) for q in flat], device=self.device)],
            prob_thd=(self.prob_thd if prob_thd is None else float(prob_thd)) if bench.background else None,
            evaluators={m: SegEvaluator(len(queries), IGNORE_INDEX, names) for m in self.methods})

    @torch.no_grad()
    def window_patches(self, x01: torch.Tensor) -> tuple:
        """``(windows, {method: (n_windows, D, h, w)} L2-normalised)`` of one image: one encoder forward."""
        boxes = windows(*x01.shape[-2:], self.crop, self.stride)
        crops = torch.stack([x01[:, y1:y2, x1:x2] for y1, y2, x1, x2 in boxes]).to(self.device)
        patches = text_aligned_patches(self.encoder, self.encoder.normalize(crops), self.methods, self.gaussian_std)
        return boxes, {m: F.normalize(emb.float(), dim=1) for m, emb in patches.items()}

    @torch.no_grad()
    def cosine_maps(self, boxes: list, patches: dict, queries: torch.Tensor, size: tuple) -> dict:
        """``{method: (Q, H, W)}``: each window's cosine maps upsampled to the window, averaged over overlaps."""
        count = torch.zeros(1, *size, device=self.device)
        for y1, y2, x1, x2 in boxes:
            count[:, y1:y2, x1:x2] += 1
        window = (boxes[0][1] - boxes[0][0], boxes[0][3] - boxes[0][2])
        out = {}
        for method, emb in patches.items():
            cos = F.interpolate(torch.einsum('nchw,qc->nqhw', emb, queries), size=window, mode='bilinear',
                                align_corners=False)
            total = torch.zeros(len(queries), *size, device=self.device)
            for (y1, y2, x1, x2), part in zip(boxes, cos):
                total[:, y1:y2, x1:x2] += part
            out[method] = total / count
        return out

    def evaluate(self, specs: list) -> dict:
        """Metrics ``{name}/{method}/{metric}`` of benchmarks that read the same images at the same size."""
        from dense.datasets import build_dataset
        dataset = build_dataset(dict(specs[0].data))
        count = len(dataset) if specs[0].num is None else min(specs[0].num, len(dataset))
        desc = f'zeroshot ({", ".join(s.bench.name for s in specs)})'
        for i in tqdm(range(count), desc=desc, unit='img'):
            sample = dataset[i]
            x01 = resize_short_side(sample['image'], specs[0].short)
            boxes, patches = self.window_patches(x01)
            for spec in specs:
                label = self._label(sample, spec.bench)
                for method, cos in self.cosine_maps(boxes, patches, spec.queries, tuple(x01.shape[-2:])).items():
                    cos = F.interpolate(cos[None], size=tuple(label.shape), mode='bilinear', align_corners=False)[0]
                    pred = predict_classes(cos, spec.owner, len(spec.names), self.logit_scale, spec.prob_thd).cpu()
                    spec.evaluators[method].process(pred[None], {'seg': label[None]})
                    if i < self.num_figures:
                        self._figure(spec.bench.name, method, i, sample['image'], pred, label, spec.names)
        out = {}
        for spec in specs:
            for method, evaluator in spec.evaluators.items():
                result = evaluator.compute()
                if not math.isfinite(result['mIoU']):
                    raise ValueError(f'zeroshot {spec.bench.name}/{method}: mIoU is not finite (no labelled pixel?)')
                out.update({f'{spec.bench.name}/{method}/{k}': v for k, v in result.items()})
        return out

    @staticmethod
    def _label(sample: dict, bench) -> torch.Tensor:
        """The benchmark's labels of a sample (VOC-20: background ignored, others shifted; raw: the PNG's values;
        COCO-Object from COCO-Stuff train ids)."""
        if bench.label == 'raw':
            from dense.datasets.common import load_label
            return torch.from_numpy(load_label(sample['meta']['seg_map_path']).astype('int64'))
        seg = sample['seg']
        if bench.label == 'coco_object':  # things (train ids 0-79) shifted up, stuff and unlabelled background
            return torch.where(seg < 80, seg + 1, 0)
        if bench.label == 'voc20':
            return torch.where((seg == 0) | (seg == IGNORE_INDEX), IGNORE_INDEX, seg - 1)
        return seg

    def _figure(self, name, method, i, image, pred, label, class_names) -> None:
        from visualize._common import save_figure
        from visualize.overlays import draw_segmentation
        picture = (image * 255).round().byte().permute(1, 2, 0).numpy()
        save_figure(draw_segmentation(picture, pred.numpy(), list(class_names), truth=label.numpy()),
                    self.work_dir / 'figures' / f'zeroshot_{name}_{method}_{i}.png')

    def _write_table(self, metrics: dict) -> None:
        """``zeroshot_results.md``: mIoU per benchmark (rows) and method (columns)."""
        from dense.io import write_bytes
        names = [b['name'] for b in self.benchmarks]
        lines = ['| benchmark | ' + ' | '.join(self.methods) + ' |', '|---' * (len(self.methods) + 1) + '|']
        lines += [f'| {n} | ' + ' | '.join(f'{metrics[f"{n}/{m}/mIoU"]:.2f}' for m in self.methods) + ' |'
                  for n in names]
        write_bytes(self.work_dir / 'zeroshot_results.md', ('\n'.join(lines) + '\n').encode())

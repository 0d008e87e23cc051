"""Open-vocabulary detection task: an OWL-ViT head on frozen tokens, queried with frozen text-tower embeddings.

Training (scenic ``projects/owl_vit``): the queries are the base classes, each under a random prompt template
(``preprocessing/label_ops.py: AddRandomPrompts`` over ``TRAINING_PROMPT_TEMPLATES`` = ``'{}'`` + CLIP's 80), plus
``num_negatives`` random names from ``negatives`` (``AddRandomNegativeLabels``: total 50); the loss is
:mod:`probes.losses.detection`. Evaluation: every class under the 7-template ensemble (``CLIP_BEST_PROMPT_TEMPLATES``,
``evaluator.py``), global top 300 over tokens x classes (``get_top_k(exclusive_classes=False)``), optional NMS.
One difference: ``evaluator.py`` averages the logits of the 7 templates, here the text tower's
``class_embeddings`` averages the embeddings (then L2-normalises).

Training and evaluation are told apart by ``torch.is_grad_enabled()`` in :meth:`DetectionTask.head_inputs`: the
runner's loss step runs with gradients, its validation / test loops and ``sprobe eval / predict`` without.
"""
from __future__ import annotations

import random
from pathlib import Path

import torch
from torchvision.ops import batched_nms, box_convert

from dense.datasets.common import batch_device, batch_image_size
from dense.datasets.detection import letterbox, query_name, resolve_split, unletterbox
from dense.io import write_json
from dense.text import IMAGENET_TEMPLATES, TEMPLATE_SETS
from probes.heads import build_head
from probes.losses.detection import image_loss
from probes.metrics.detection import DetectionEvaluator

# scenic label_ops.py: TRAINING_PROMPT_TEMPLATES = ['{}'] + CLIP's 80; CLIP_BEST_PROMPT_TEMPLATES = CLIP's best 7
TRAINING_TEMPLATES = ('{}',) + tuple(IMAGENET_TEMPLATES)
EVAL_TEMPLATES = tuple(TEMPLATE_SETS['short'])


def _categories(classes) -> list[dict]:
    """``classes``: a list of names, ``'scenes'`` (the five shapes) or a COCO / LVIS annotation file."""
    if isinstance(classes, (list, tuple)):
        return [dict(id=k + 1, name=n) for k, n in enumerate(classes)]
    if classes == 'scenes':
        from dense.scenes import CLASS_NAMES
        return [dict(id=i, name=n) for i, n in enumerate(CLASS_NAMES) if i]
    from dense.datasets.detection import load_categories
    return load_categories(classes)


class DetectionTask:
    """Open-vocabulary box detection (OWL-ViT protocol on a frozen encoder).

    Args:
        classes: Class names, ``'scenes'`` or an annotation file (its categories, in id order).
        ov_split: Open-vocabulary split (``dense.datasets.detection``): training queries are its base classes.
        negatives: Extra names drawn as negative queries while training (must not name evaluation classes).
        num_negatives: How many negatives per batch (scenic: 50).
        top_k: Detections kept per image (OWL-ViT: 300).
        nms_iou: Per-class NMS IoU threshold after top-k; None = no NMS (OWL-ViT).
        loss_weights: ``dict(class=, l1=, giou=, objectness=)`` (OWL-ViT: 1, 1, 1).
        train_templates / eval_templates: Prompt templates (``'{}'`` marks the name).
        queries: The texts queried at evaluation / prediction (default: the class names); for ``sprobe
            predict``, e.g. ``--cfg-options "tasks.det.queries=[red sphere,cone]"``.
    """

    name = 'det'
    dense = False
    needs_text = True
    label_keys = ('boxes', 'box_labels')
    selection = ('AP', 'max')
    table_metrics = ('AP', 'AP50', 'AP75', 'APs', 'APm', 'APl', 'AP_novel', 'AP50_novel', 'APr')

    def __init__(self, classes='scenes', ov_split: str | None = None, negatives=(), num_negatives: int = 50,
                 top_k: int = 300, nms_iou: float | None = None, loss_weights: dict | None = None,
                 train_templates=TRAINING_TEMPLATES, eval_templates=EVAL_TEMPLATES, queries=None):
        categories, is_base = resolve_split(_categories(classes), ov_split)
        self.class_names = [query_name(c['name']) for c in categories]
        self.set_queries(self.class_names if queries is None else list(queries))
        self.base = [k for k, b in enumerate(is_base) if b]
        self.novel = tuple(k for k, b in enumerate(is_base) if not b)
        overlap = set(negatives) & set(self.class_names)
        if overlap:
            raise ValueError(f'negatives must not name evaluation classes, got {sorted(overlap)[:5]}')
        self.negatives, self.num_negatives = list(negatives), int(num_negatives)
        self.top_k, self.nms_iou = int(top_k), nms_iou
        self.loss_weights = dict(dict(zip(('class', 'l1', 'giou', 'objectness'), (1.0,) * 4)), **(loss_weights or {}))
        self.train_templates, self.eval_templates = list(train_templates), list(eval_templates)
        self.text = None
        self._prompt_cache: dict[tuple[str, str], torch.Tensor] = {}

    def set_queries(self, names: list[str]) -> None:
        """The names queried at evaluation / prediction (default: every class); any text works."""
        if not names:
            raise ValueError('detection needs at least one text query; the query list is empty')
        self.queries = list(names)
        self._eval_embeddings = None

    def bind_text(self, text_encoder) -> None:
        """Use this frozen text tower (``dense.text`` API: ``embed_dim``, ``class_embeddings``)."""
        self.text = text_encoder
        self._prompt_cache.clear()
        self._eval_embeddings = None

    def to(self, *args, **kwargs) -> 'DetectionTask':
        """Move the text tower (embeddings are moved to the batch's device as they are used)."""
        if self.text is not None and hasattr(self.text, 'to'):
            self.text.to(*args, **kwargs)
        return self

    def _text(self):
        if self.text is None:
            raise ValueError('detection task has no text tower: bind_text(build_text_encoder(...)) first')
        return self.text

    def build_head(self, kind: str, in_dims: list[int], pooled_dim: int = 0, **opts):
        """An ``'owl'`` head projecting tokens to the text tower's embedding width."""
        return build_head(kind, in_dims, self._text().embed_dim, pooled_dim=pooled_dim, **opts)

    def _prompted(self, names: list[str], templates: list[str]) -> torch.Tensor:
        """One embedding per (name, template) pair, computed in one tower call per template and cached."""
        missing: dict[str, list[str]] = {}
        for name, template in zip(names, templates):
            if (name, template) not in self._prompt_cache:
                missing.setdefault(template, []).append(name)
        for template, group in missing.items():
            group = list(dict.fromkeys(group))
            for name, emb in zip(group, self._text().class_embeddings(group, [template]).float().cpu()):
                self._prompt_cache[(name, template)] = emb
        return torch.stack([self._prompt_cache[(n, t)] for n, t in zip(names, templates)])

    def head_inputs(self, batch: dict) -> dict:
        """``queries`` [Q, D] and ``query_classes`` [Q] (class index, -1 = negative) for this batch (on its
        device; without a batch, as in ``sprobe predict``, on the text tower's)."""
        if batch is not None:
            device = batch_device(batch)
        else:
            device = next(iter(self._text().parameters()), torch.zeros(0)).device
        if torch.is_grad_enabled():
            names = [self.class_names[k] for k in self.base]
            negatives = random.sample(self.negatives, min(self.num_negatives, len(self.negatives)))
            templates = [random.choice(self.train_templates) for _ in names + negatives]
            queries = self._prompted(names + negatives, templates)
            classes = torch.tensor(self.base + [-1] * len(negatives))
        else:
            if self._eval_embeddings is None:
                self._eval_embeddings = self._text().class_embeddings(self.queries, self.eval_templates).float()
            queries = self._eval_embeddings
            classes = torch.arange(len(self.queries))
        return {'queries': queries.to(device), 'query_classes': classes.to(device)}

    def loss(self, head_out: dict, batch: dict) -> torch.Tensor:
        """OWL-ViT's matched focal + L1 + GIoU loss, normalised per image, averaged over the batch."""
        logits, boxes, classes = head_out['logits'].float(), head_out['boxes'].float(), head_out['query_classes']
        height, width = batch_image_size(batch)
        scale = boxes.new_tensor([width, height, width, height])
        total = logits.sum() * 0.0
        for i, (tboxes, labels) in enumerate(zip(batch['boxes'], batch['box_labels'])):
            onehot = labels.to(classes.device)[:, None] == classes[None, :]
            keep = onehot.any(1)  # boxes of classes without a query this batch carry no class target
            target = box_convert(tboxes.to(boxes)[keep] / scale, 'xyxy', 'cxcywh')
            objectness = head_out['objectness'][i].float() if 'objectness' in head_out else None
            parts = image_loss(logits[i], boxes[i], onehot[keep], target, objectness)
            total = total + sum(self.loss_weights[k] * v for k, v in parts.items())
        return total / len(batch['boxes'])

    def predict(self, head_out: dict, size: tuple[int, int]) -> list[dict]:
        """Per image: the top ``top_k`` (token, query) pairs as boxes (x0, y0, x1, y1 pixels of ``size``), scores
        and class labels (indices into the queries); per-class NMS when ``nms_iou`` is set."""
        scores = torch.sigmoid(head_out['logits'].float())
        classes = head_out['query_classes']
        scale = scores.new_tensor([size[1], size[0], size[1], size[0]])
        out = []
        for score, boxes in zip(scores, head_out['boxes'].float()):
            top, flat = score.flatten().topk(min(self.top_k, score.numel()))
            token, query = flat // score.shape[1], flat % score.shape[1]
            xyxy = box_convert(boxes[token], 'cxcywh', 'xyxy') * scale
            labels = classes[query]
            if self.nms_iou is not None:
                keep = batched_nms(xyxy, top, labels, self.nms_iou)
                xyxy, top, labels = xyxy[keep], top[keep], labels[keep]
            out.append(dict(boxes=xyxy, scores=top, labels=labels))
        return out

    def new_evaluator(self) -> DetectionEvaluator:
        """COCOeval / LVIS evaluation in original image pixels; novel classes reported separately."""
        return DetectionEvaluator(self.novel)


    @staticmethod
    def prepare_image(x01: torch.Tensor, image_size: int | None) -> tuple[torch.Tensor, dict]:
        """``sprobe predict``: one image letterboxed like the data sets do (``image_size`` of the val data)."""
        size = int(image_size or max(x01.shape[-2:]))
        image, _, scale = letterbox(x01, torch.zeros(0, 4), size)
        return image, dict(scale=scale, ori_shape=tuple(x01.shape[-2:]))

    def save_prediction(self, pred: dict, info: dict, path_stem: Path, image=None, overlay_top: int = 10) -> list[Path]:
        """``<stem>.json``: the detections in original image pixels, best first, with their query text; with
        ``image`` (uint8 H x W x 3) also ``<stem>_boxes.png``, the ``overlay_top`` best drawn over it."""
        boxes = unletterbox(pred['boxes'], info['scale'], info['ori_shape'])
        detections = [dict(box=[round(v, 2) for v in box], score=score, label=label, query=self.queries[label])
                      for box, score, label in zip(boxes.tolist(), pred['scores'].tolist(), pred['labels'].tolist())]
        written = [write_json(path_stem.with_suffix('.json'), dict(queries=self.queries, detections=detections))]
        if image is not None:
            from visualize._common import save_figure
            from visualize.boxes import draw_boxes
            top = slice(0, overlay_top)
            fig = draw_boxes(image, boxes[top], pred['labels'][top], self.queries, scores=pred['scores'][top])
            written += save_figure(fig, path_stem.with_name(path_stem.name + '_boxes.png'))
        return written

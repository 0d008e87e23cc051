"""Referring-expression comprehension: one box per (image, expression), scored by Acc@0.5.

The frozen text tower (bound by the runner, ``bind_text``) turns each expression into token states and a pooled
embedding once per batch (``head_inputs``); the heads of :mod:`probes.heads_ref` cross-attend / compare them with
the frozen patch tokens. Box heads are trained with DETR's loss, 5 x L1 on normalised ``cx, cy, w, h`` + 2 x
generalized IoU (Carion et al. 2020; Rezatofighi et al. 2019, torchvision ``generalized_box_iou_loss``); the
similarity baseline's patch map with binary cross-entropy against the target box and boxed at prediction by a
threshold (relative to the peak) + largest connected component. The decoder's mask (``box='mask'``) is trained
with that BCE too, and its (or its reference attention's) logits with a cross-entropy against the target centre's
cell. LocCa (the SigLIP 2 paper's protocol) emits the box as text tokens and trains with the captioning loss
instead; a mask box refined by regression is this suite's choice (docs/referring.md).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from torchvision.ops import box_convert, generalized_box_iou_loss

from dense.datasets.common import batch_device, batch_image_size
from probes.heads import build_head
from probes.heads_ref import cell_box_mask, map_to_box
from probes.metrics.referring import RefEvaluator

# which text inputs each head kind reads (the task computes only those)
TEXT_INPUTS = {'ref_decoder': None, 'ref_similarity': 'embedding', 'ref_largest': '', 'ref_centre': ''}


class ReferringTask:
    """Referring expressions: ``batch['expression']`` (list of str) with ``batch['target_box']`` ``[N, 4]`` pixels.

    Args:
        l1_weight: Weight of the L1 box loss (DETR: 5).
        giou_weight: Weight of the generalized-IoU loss (DETR: 2).
        threshold: Level, relative to the map's maximum probability, at which the similarity baseline's map is cut
            before its largest component is boxed.
        text_cache: Most expressions whose text-tower outputs are kept between batches.
        locate_weight: Weight of the decoder's localisation loss: cross-entropy of its reference-point attention
            over the patch grid (``point_logits``, ``[N, h, w]``) against the cell that holds the target box's centre, the
            "responsible cell" of YOLO (Redmon et al. 2016) / CenterNet's centre (Zhou et al. 2019). It tells the
            decoder *which* object is meant directly rather than only through the box regression; 0 = DETR's
            box loss alone. On the scenes (random ``tiny`` towers, 224 px, 2 000 steps) it lifts test Acc@0.5
            from ~3 to ~24 % (docs/referring.md).
        mask_weight: Weight of the per-patch BCE of the decoder's mask (``mask_logits``, ``box='mask'``) against
            the cells inside the target box (the similarity baseline's loss).
    """

    name = 'ref'
    dense = False
    needs_text = True
    label_keys = ('target_box',)
    selection = ('Acc@0.5', 'max')
    table_metrics = ('Acc@0.5', 'mIoU')
    table_per_split = True  # markdown tables add Acc@0.5 of every split an evaluation set holds

    def __init__(self, l1_weight: float = 5.0, giou_weight: float = 2.0, threshold: float = 0.5,
                 text_cache: int = 20000, locate_weight: float = 1.0, mask_weight: float = 1.0):
        self.l1_weight, self.giou_weight, self.threshold = float(l1_weight), float(giou_weight), float(threshold)
        self.locate_weight, self.mask_weight = float(locate_weight), float(mask_weight)
        self.text, self.text_cache, self._cache = None, int(text_cache), {}
        self._inputs: set[str] = set()

    def bind_text(self, text_encoder: nn.Module) -> None:
        """Use ``text_encoder`` (``dense.text``; frozen) for the expressions."""
        self.text = text_encoder.requires_grad_(False).eval()
        self._cache.clear()

    def to(self, *args, **kwargs) -> 'ReferringTask':
        """Move the bound text tower."""
        if self.text is not None:
            self.text.to(*args, **kwargs)
        return self

    def _text(self):
        if self.text is None:
            raise ValueError('ReferringTask: no text tower bound; the runner binds one (cfg.text_encoder) before '
                             'building heads')
        return self.text

    def token_width(self) -> int:
        """Width of the text tower's token states."""
        return int(self._text().token_features(['a'])[0].shape[-1])

    def build_head(self, kind: str, in_dims: list[int], pooled_dim: int = 0, **opts) -> nn.Module:
        """A head of :mod:`probes.heads_ref` (one box), told the width of the text input it reads."""
        if kind not in TEXT_INPUTS:
            raise KeyError(f'ReferringTask: head kind {kind!r} is not a referring head; known: {sorted(TEXT_INPUTS)}')
        reads = TEXT_INPUTS[kind]
        if reads is None:  # the decoder: token states or the pooled embedding, by its ``query`` option
            reads = 'tokens' if opts.get('query', 'tokens') == 'tokens' else 'embedding'
        if reads:
            opts['text_dim'] = self.token_width() if reads == 'tokens' else int(self._text().embed_dim)
            self._need(reads)
        if kind == 'ref_decoder' and opts.get('box') == 'mask':  # its mask starts from the text-patch similarity
            opts['embed_dim'] = int(self._text().embed_dim)
            self._need('embedding')
        return build_head(kind, in_dims, 4, pooled_dim=pooled_dim, **opts)

    def _need(self, reads: str) -> None:
        if reads not in self._inputs:
            self._inputs.add(reads)
            self._cache.clear()  # entries made so far lack this input

    def _encode(self, expressions: list[str]) -> None:
        """Run the text tower on expressions not seen yet; keep their valid token states and embeddings (CPU)."""
        new = [e for e in dict.fromkeys(expressions) if e not in self._cache]
        if not new or not self._inputs:
            return
        if len(self._cache) + len(new) > self.text_cache:
            self._cache.clear()  # bounded memory; a frozen tower recomputes the same values
        tokens, mask = self._text().token_features(new) if 'tokens' in self._inputs else (None, None)
        embedding = self._text().encode_text(new).float().cpu() if 'embedding' in self._inputs else None
        for i, expression in enumerate(new):
            valid = tokens[i, :int(mask[i].sum())].float().cpu() if tokens is not None else None
            self._cache[expression] = (valid, embedding[i] if embedding is not None else None)

    @torch.no_grad()
    def head_inputs(self, batch: dict) -> dict:
        """Text inputs the built heads read, the image's object boxes (largest-object baseline) and the batched
        image size. Token states ``[N, L, W]`` are cut to the batch's longest expression (``L`` <= 64; the mask
        marks the real tokens, text + EOS); expressions longer than the tower's 64 tokens are cut (EOS kept) and
        the text tower's ``tokenize`` warns naming them. The frozen tower runs once per distinct expression and
        its outputs are cached (``text_cache`` expressions at most)."""
        expressions, device = list(batch['expression']), batch_device(batch)
        inputs = dict(object_boxes=batch.get('boxes'), image_size=batch_image_size(batch))
        self._encode(expressions)
        cached = [self._cache[e] for e in expressions] if self._inputs else []
        if 'tokens' in self._inputs:
            tokens = nn.utils.rnn.pad_sequence([c[0] for c in cached], batch_first=True)
            lengths = torch.tensor([len(c[0]) for c in cached])
            inputs.update(text_tokens=tokens.to(device),
                          text_mask=(torch.arange(tokens.shape[1])[None] < lengths[:, None]).to(device))
        if 'embedding' in self._inputs:
            inputs['text_embedding'] = torch.stack([c[1] for c in cached]).to(device)
        return inputs

    def loss(self, head_out: dict, batch: dict) -> torch.Tensor:
        """Box heads: ``l1_weight`` x L1 (summed over the 4 coordinates, mean over boxes) + ``giou_weight`` x
        GIoU loss, plus ``locate_weight`` x :meth:`locate_loss` of ``point_logits`` and ``mask_weight`` x the
        per-patch BCE of ``mask_logits`` where the head gives them (boxes without a gradient: those terms only);
        the similarity map: per-patch BCE against the target box; parameter-free heads: 0."""
        size = batch_image_size(batch)
        target = batch['target_box'].float()
        if 'map' in head_out:
            logits = head_out['map'].float()
            return F.binary_cross_entropy_with_logits(logits, cell_box_mask(target, logits.shape[-2:], size))
        boxes = head_out['boxes'].float()
        loss = boxes.new_zeros((), requires_grad=True)  # the largest-object baseline learns nothing
        scale = target.new_tensor([size[1], size[0], size[1], size[0]])
        normalised = box_convert(target / scale, 'xyxy', 'cxcywh')
        if self.mask_weight and 'mask_logits' in head_out:
            logits = head_out['mask_logits'].float()
            loss = loss + self.mask_weight * F.binary_cross_entropy_with_logits(
                logits, cell_box_mask(target, logits.shape[-2:], size))
        if self.locate_weight and 'point_logits' in head_out:
            loss = loss + self.locate_weight * self.locate_loss(head_out['point_logits'], normalised)
        if not boxes.requires_grad:  # boxes without a gradient (the largest object; a mask's own box)
            return loss
        l1 = (boxes - normalised).abs().sum(-1).mean()
        giou = generalized_box_iou_loss(box_convert(boxes, 'cxcywh', 'xyxy'),
                                        box_convert(normalised, 'cxcywh', 'xyxy'), reduction='mean')
        return loss + self.l1_weight * l1 + self.giou_weight * giou

    @staticmethod
    def locate_loss(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """Cross-entropy of ``logits`` ``[N, h, w]`` over the grid's cells against the cell holding each target
        centre (``target``: normalised ``cx, cy, w, h``)."""
        h, w = logits.shape[-2:]
        col = (target[:, 0] * w).long().clamp(0, w - 1)
        row = (target[:, 1] * h).long().clamp(0, h - 1)
        return F.cross_entropy(logits.float().flatten(1), row * w + col)

    def predict(self, head_out: dict, size: tuple[int, int]) -> list[dict]:
        """One ``dict(box=float32[4])`` per expression: pixel ``(x0, y0, x1, y1)`` in an image of ``size``."""
        if 'map' in head_out:
            probs = head_out['map'].float().sigmoid().detach().cpu().numpy()
            return [dict(box=map_to_box(p, size, self.threshold)) for p in probs]
        scale = head_out['boxes'].new_tensor([size[1], size[0], size[1], size[0]])
        boxes = box_convert(head_out['boxes'].float().detach(), 'cxcywh', 'xyxy').clamp(0, 1) * scale
        return [dict(box=b) for b in boxes]

    def new_evaluator(self) -> RefEvaluator:
        """Acc@0.5 and mean IoU, overall and per tagged split."""
        return RefEvaluator()

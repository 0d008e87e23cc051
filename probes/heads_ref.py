"""Referring-expression heads on frozen patch tokens: a grounding decoder and three baselines.

Every head returns a dict: ``{'boxes': float32[N, 4]}`` (normalised ``cx, cy, w, h`` in [0, 1]) or, for the
similarity baseline, ``{'map': float32[N, h, w]}`` (per-patch logits that the task turns into a box); the decoder
adds the logits its task trains (``point_logits``, and ``mask_logits`` with ``box='mask'``). Inputs come
from the referring task's ``head_inputs``: ``text_tokens`` ``[N, L, W]`` with ``text_mask`` ``[N, L]`` (the frozen
text tower's final-LN token states), ``text_embedding`` ``[N, D]`` (its pooled output), ``object_boxes`` (per image,
``[n_i, 4]`` pixel boxes of every annotated object) and ``image_size`` ``(H, W)``.

References:
    - Wan et al. 2024, "LocCa: Visual Pretraining with Location-aware Captioners", and Tschannen et al. 2025,
      "SigLIP 2", Sec. 3.3: a 6-layer transformer decoder trained from scratch on the frozen, unpooled patch tokens
      of all RefCOCO variants. LocCa decodes the box as text tokens; here the decoder regresses it (DETR style).
    - Carion et al. 2020, "End-to-End Object Detection with Transformers" (sigmoid ``cxcywh`` box MLP, sine position
      encoding of the memory); Deng et al. 2021, "TransVG" (a learned [REG] query beside the text tokens).
    - Cheng et al. 2021, "MaskFormer" (a query's mask = its embedding dotted with every pixel embedding); Zhou et
      al. 2016, "CAM" (box of the map's component above a fraction of its peak); Cai & Vasconcelos 2018, "Cascade
      R-CNN" (a box regressed as a refinement of an earlier one).
"""
from __future__ import annotations

import math

import numpy as np
import torch
from scipy import ndimage
from torch import nn


def _concat(feats: list[torch.Tensor]) -> torch.Tensor:
    from probes.heads import _concat_layers  # imported here: probes.heads imports this module for its table
    return _concat_layers(feats)


def _check_feats(head: nn.Module, feats: list[torch.Tensor]) -> None:
    got = [int(f.shape[1]) for f in feats]
    if got != list(head.in_dims):
        raise ValueError(f'{type(head).__name__}: feature channels {got} differ from in_dims {head.in_dims}')


def _require(head: nn.Module, **inputs) -> None:
    missing = [k for k, v in inputs.items() if v is None]
    if missing:
        raise ValueError(f'{type(head).__name__} needs the inputs {missing} (the referring task provides them)')


def sine_position_2d(height: int, width: int, dim: int, device=None) -> torch.Tensor:
    """DETR's fixed sine / cosine encoding of a ``height x width`` grid: ``[h*w, dim]`` (half for y, half for x)."""
    if dim % 4:
        raise ValueError(f'sine_position_2d: dim must be a multiple of 4, got {dim}')
    quarter = dim // 4
    freq = 1.0 / (10000 ** (torch.arange(quarter, device=device, dtype=torch.float32) / quarter))
    ys = (torch.arange(height, device=device, dtype=torch.float32) + 0.5) / height * 2 * math.pi
    xs = (torch.arange(width, device=device, dtype=torch.float32) + 0.5) / width * 2 * math.pi
    enc_y = torch.cat([torch.sin(ys[:, None] * freq), torch.cos(ys[:, None] * freq)], dim=1)  # [h, dim/2]
    enc_x = torch.cat([torch.sin(xs[:, None] * freq), torch.cos(xs[:, None] * freq)], dim=1)  # [w, dim/2]
    return torch.cat([enc_y[:, None].expand(-1, width, -1), enc_x[None].expand(height, -1, -1)], -1).flatten(0, 1)


def cell_box_mask(boxes: torch.Tensor, grid: tuple[int, int], size: tuple[int, int]) -> torch.Tensor:
    """``[N, h, w]`` float mask of the grid cells whose centre lies inside each pixel box ``(x0, y0, x1, y1)``."""
    (h, w), (height, width) = grid, size
    ys = (torch.arange(h, device=boxes.device) + 0.5) * height / h
    xs = (torch.arange(w, device=boxes.device) + 0.5) * width / w
    inside_y = (ys[None] >= boxes[:, 1:2]) & (ys[None] < boxes[:, 3:4])
    inside_x = (xs[None] >= boxes[:, 0:1]) & (xs[None] < boxes[:, 2:3])
    return (inside_y[:, :, None] & inside_x[:, None, :]).float()


def map_to_box(prob: np.ndarray, size: tuple[int, int], threshold: float = 0.5,
               component: str = 'largest') -> torch.Tensor:
    """Pixel box ``(x0, y0, x1, y1)`` of one 4-connected component of the cells at or above ``threshold`` x the
    map's maximum on an ``[h, w]`` grid, scaled to an image of ``size`` (H, W): the largest component
    (``component='largest'``) or the one holding the map's maximum (``'peak'``).

    The level is relative to the peak as in the box protocol of class activation maps (Zhou et al. 2016, "Learning
    Deep Features for Discriminative Localization", Sec. 3: 20 % of the maximum), so there is always a box.
    """
    if component not in ('largest', 'peak'):
        raise ValueError(f"map_to_box: component must be 'largest' or 'peak', got {component!r}")
    labels, count = ndimage.label(prob >= threshold * float(prob.max()))
    if component == 'peak':
        keep = int(labels.flat[int(np.argmax(prob))])
    else:
        keep = int(np.argmax(np.bincount(labels.ravel(), minlength=count + 1)[1:])) + 1
    ys, xs = np.nonzero(labels == keep)
    (h, w), (height, width) = prob.shape, size
    return torch.tensor([xs.min() * width / w, ys.min() * height / h, (xs.max() + 1) * width / w,
                         (ys.max() + 1) * height / h], dtype=torch.float32)


class RefDecoderHead(nn.Module):
    """Transformer decoder whose queries come from the expression, cross-attending to the patch tokens.

    ``query='tokens'``: a learned [REG] query followed by the projected text-tower tokens (padding masked) attend
    to each other and to the image; the [REG] output regresses the box. ``query='pooled'``: ``num_queries``
    learned queries, each plus the projected pooled text embedding; the first one's output regresses the box.

    Args:
        in_dims: Channels of each input layer (concatenated, then projected to ``width``).
        out_channels: Must be 4 (one box).
        pooled_dim: Channels of the image's pooled embedding, appended to the memory as one extra token; 0 = none.
        text_dim: Width of the text input (token width for ``'tokens'``, embedding dim for ``'pooled'``).
        query: ``'tokens'`` or ``'pooled'``.
        depth: Decoder layers (LocCa / SigLIP 2: 6).
        width: Decoder width; heads: attention heads; mlp_ratio: MLP width factor; dropout: in every layer.
        num_queries: Learned queries for ``query='pooled'``.
        max_tokens: Length of the learned text-position table (the text tower's context, 64 for SigLIP 2).
        box: How the box is made.
            ``'direct'``: all four numbers regressed from the [REG] output alone (DETR).
            ``'reference'``: the centre as an offset (in logit space) from a reference point, the patch centres
            averaged with the [REG] output's attention over the patches (Meng et al. 2021, "Conditional DETR";
            Wang et al. 2022, "Anchor DETR": a spatial prior that speeds up DETR's slow convergence); the box MLP
            reads the [REG] output plus the attention-weighted patch tokens, and the output also holds
            ``point_logits`` ``[N, h, w]``, the attention's logits, which the referring task trains to pick the
            cell holding the target's centre (``ReferringTask(locate_weight=...)``).
            ``'mask'``: the [REG] output also predicts a mask over the patch grid (``mask_logits`` ``[N, h, w]``:
            an MLP of the [REG] output dotted with every projected patch token, as MaskFormer's mask embedding;
            the task trains it with per-patch BCE against the target box, ``ReferringTask(mask_weight=...)``);
            the cells at or above ``mask_threshold`` x its peak, the component holding the peak, give a box
            (no gradient; the class-activation-map box rule of the similarity baseline), which the box MLP
            refines: ``sigmoid(logit(mask box) + delta)``, ``delta`` from the [REG] output plus the mask-weighted
            patch tokens, zero at initialisation (a two-stage box: Cascade R-CNN's refinement, Cai & Vasconcelos
            2018). The regression then only corrects a box already on the chosen object.
        mask_threshold: Level (relative to the mask's peak probability) of the ``'mask'`` box.
    """

    dense = False

    def __init__(self, in_dims: list[int], out_channels: int = 4, pooled_dim: int = 0, text_dim: int = 0,
                 query: str = 'tokens', depth: int = 6, width: int = 256, heads: int = 8, mlp_ratio: float = 4.0,
                 dropout: float = 0.1, num_queries: int = 4, max_tokens: int = 64, box: str = 'reference',
                 mask_threshold: float = 0.5, embed_dim: int = 0, refine: bool = True):
        super().__init__()
        if (out_channels != 4 or query not in ('tokens', 'pooled') or text_dim < 1 or depth < 1
                or box not in ('direct', 'reference', 'mask') or (box == 'mask' and embed_dim < 1)):
            raise ValueError(f'RefDecoderHead: needs out_channels=4, query in (tokens, pooled), text_dim >= 1, '
                             f'depth >= 1, box in (direct, reference, mask) and embed_dim >= 1 for box=mask; got '
                             f'{out_channels}, {query!r}, {text_dim}, {depth}, {box!r}, {embed_dim}')
        self.in_dims, self.pooled_dim, self.query = [int(d) for d in in_dims], int(pooled_dim), query
        self.width = int(width)
        self.memory_proj = nn.Sequential(nn.Linear(sum(self.in_dims), width), nn.LayerNorm(width))
        self.pooled_proj = nn.Linear(pooled_dim, width) if pooled_dim else None
        self.text_proj = nn.Linear(text_dim, width)
        self.queries = nn.Parameter(torch.randn(1 if query == 'tokens' else num_queries, width) * 0.02)
        self.text_pos = nn.Parameter(torch.randn(max_tokens, width) * 0.02) if query == 'tokens' else None
        layer = nn.TransformerDecoderLayer(width, heads, int(width * mlp_ratio), dropout, activation='gelu',
                                           batch_first=True, norm_first=True)
        self.decoder = nn.TransformerDecoder(layer, depth, norm=nn.LayerNorm(width))
        self.box = nn.Sequential(nn.Linear(width, width), nn.ReLU(), nn.Linear(width, width), nn.ReLU(),
                                 nn.Linear(width, 4))
        self.box_mode, self.mask_threshold = box, float(mask_threshold)
        if box == 'reference':
            self.point_q, self.point_k = nn.Linear(width, width), nn.Linear(width, width)
        elif box == 'mask':
            self.similarity = RefSimilarityHead(self.in_dims, text_dim=embed_dim)
            self.mask_embed = nn.Sequential(nn.Linear(width, width), nn.ReLU(), nn.Linear(width, width))
            self.refine = bool(refine)
            for layer in (self.mask_embed[-1], self.box[-1]):  # the first mask is the similarity map, the first
                nn.init.zeros_(layer.weight)                    # box the mask's own
                nn.init.zeros_(layer.bias)

    def _memory(self, feats: list[torch.Tensor], pooled: torch.Tensor | None) -> torch.Tensor:
        x = _concat(feats)
        n, _, h, w = x.shape
        memory = self.memory_proj(x.flatten(2).transpose(1, 2)) + sine_position_2d(h, w, self.width, x.device)
        if self.pooled_dim:
            memory = torch.cat([memory, self.pooled_proj(pooled)[:, None]], dim=1)
        return memory

    def _targets(self, n: int, tokens, mask, embedding) -> tuple[torch.Tensor, torch.Tensor | None]:
        if self.query == 'pooled':
            _require(self, text_embedding=embedding)
            return self.queries[None].expand(n, -1, -1) + self.text_proj(embedding)[:, None], None
        _require(self, text_tokens=tokens, text_mask=mask)
        if tokens.shape[1] > len(self.text_pos):
            raise ValueError(f'RefDecoderHead: {tokens.shape[1]} text tokens, more than max_tokens={len(self.text_pos)}')
        text = self.text_proj(tokens) + self.text_pos[:tokens.shape[1]]
        targets = torch.cat([self.queries[None].expand(n, -1, -1), text], dim=1)
        padding = torch.cat([mask.new_zeros(n, 1), ~mask.bool()], dim=1)  # True = ignored key
        return targets, padding

    def forward(self, feats: list[torch.Tensor], pooled: torch.Tensor | None = None, text_tokens=None,
                text_mask=None, text_embedding=None, **_) -> dict[str, torch.Tensor]:
        """``{'boxes': [N, 4]}`` normalised ``cx, cy, w, h`` (sigmoid), plus ``'point_logits'`` ``[N, h, w]`` with
        ``box='reference'`` or ``'mask_logits'`` ``[N, h, w]`` with ``box='mask'``."""
        _check_feats(self, feats)
        if self.pooled_dim:
            _require(self, pooled=pooled)
        targets, padding = self._targets(feats[0].shape[0], text_tokens, text_mask, text_embedding)
        memory = self._memory(feats, pooled)
        reg = self.decoder(targets, memory, tgt_key_padding_mask=padding)[:, 0]
        if self.box_mode == 'direct':
            return {'boxes': self.box(reg).sigmoid()}
        h, w = feats[0].shape[-2:]
        patches = memory[:, :h * w]
        if self.box_mode == 'mask':
            _require(self, text_embedding=text_embedding)
            logits = (self.similarity(feats, text_embedding=text_embedding)['map'].flatten(1)
                      + torch.einsum('nc,npc->np', self.mask_embed(reg), patches) / math.sqrt(self.width))
            grid = logits.unflatten(1, (h, w))
            start = self._mask_boxes(grid.detach())
            # the mask's logits are also its localisation logits: the task's cross-entropy against the target
            # centre's cell trains the peak (the pick) directly, where the BCE trains every cell alike
            if not self.refine:
                return {'boxes': start, 'mask_logits': grid, 'point_logits': grid}
            weights = logits.sigmoid()
            attended = torch.einsum('np,npc->nc', weights / weights.sum(-1, keepdim=True).clamp_min(1e-6), patches)
            delta = self.box(reg + attended)
            return {'boxes': (torch.logit(start, eps=1e-3) + delta).sigmoid(), 'mask_logits': grid,
                    'point_logits': grid}
        point, scores = self._reference(reg, patches, h, w)
        # the box MLP reads the [REG] output plus the patch tokens under its attention: the selected object's
        # own features carry its extent
        delta = self.box(reg + torch.einsum('np,npc->nc', scores.softmax(-1), patches))
        return {'boxes': torch.cat([(point + delta[:, :2]).sigmoid(), delta[:, 2:].sigmoid()], dim=1),
                'point_logits': scores.unflatten(1, (h, w))}

    def _mask_boxes(self, logits: torch.Tensor) -> torch.Tensor:
        """Normalised ``cx, cy, w, h`` of each mask's peak component (:func:`map_to_box`), ``[N, 4]``."""
        probs = logits.float().sigmoid().cpu().numpy()
        boxes = torch.stack([map_to_box(p, (1, 1), self.mask_threshold, 'peak') for p in probs])
        return _xyxy_to_cxcywh(boxes, (1, 1)).to(logits.device)

    def _reference(self, reg: torch.Tensor, patches: torch.Tensor, h: int, w: int):
        """Logit of the reference point (the patch centres averaged with the [REG] output's attention over the
        patches) and that attention's logits ``[N, h*w]`` (row-major cells; the task's localisation loss reads
        them)."""
        scores = torch.einsum('nc,npc->np', self.point_q(reg), self.point_k(patches)) / math.sqrt(self.width)
        ys, xs = torch.meshgrid((torch.arange(h, device=reg.device) + 0.5) / h,
                                (torch.arange(w, device=reg.device) + 0.5) / w, indexing='ij')
        point = scores.softmax(-1) @ torch.stack([xs.flatten(), ys.flatten()], -1)
        return torch.logit(point, eps=1e-4), scores


class RefSimilarityHead(nn.Module):
    """Similarity baseline: ``exp(t) * cos(P x_patch, e_text) + b`` per patch; the task boxes the largest
    above-threshold component. ``P`` is a learned linear map into the text space (``project=True``) or the
    identity (``project=False``: raw patch tokens, needs channels == text dim); ``t`` and ``b`` are learned
    (SigLIP's logit scale and bias), trained with per-patch binary cross-entropy against the target box.

    Args:
        in_dims: Channels of each input layer (concatenated).
        out_channels: Must be 4 (the task's box).
        pooled_dim: Unused (kept for the head contract); must be 0.
        text_dim: Dimension of the pooled text embedding.
        project: Learn ``P``; False compares the raw tokens with the text embedding.
    """

    dense = False

    def __init__(self, in_dims: list[int], out_channels: int = 4, pooled_dim: int = 0, text_dim: int = 0,
                 project: bool = True):
        super().__init__()
        channels = sum(int(d) for d in in_dims)
        if out_channels != 4 or pooled_dim or text_dim < 1 or (not project and channels != text_dim):
            raise ValueError(f'RefSimilarityHead: needs out_channels=4, pooled_dim=0, text_dim >= 1 and (project or '
                             f'channels == text_dim); got {out_channels}, {pooled_dim}, {text_dim}, {channels}')
        self.in_dims = [int(d) for d in in_dims]
        self.proj = nn.Linear(channels, text_dim) if project else nn.Identity()
        self.logit_scale = nn.Parameter(torch.tensor(math.log(10.0)))
        self.logit_bias = nn.Parameter(torch.tensor(-2.0))

    def forward(self, feats: list[torch.Tensor], pooled: torch.Tensor | None = None, text_embedding=None,
                **_) -> dict[str, torch.Tensor]:
        """``{'map': [N, h, w]}`` per-patch logits of belonging to the referred object."""
        _check_feats(self, feats)
        _require(self, text_embedding=text_embedding)
        x = self.proj(_concat(feats).permute(0, 2, 3, 1))
        cos = torch.einsum('nhwc,nc->nhw', nn.functional.normalize(x, dim=-1),
                           nn.functional.normalize(text_embedding, dim=-1))
        return {'map': self.logit_scale.exp() * cos + self.logit_bias}


def _xyxy_to_cxcywh(boxes: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Pixel ``x0, y0, x1, y1`` to ``cx, cy, w, h`` normalised by the image ``size`` (H, W)."""
    height, width = size
    x0, y0, x1, y1 = boxes.unbind(-1)
    return torch.stack([(x0 + x1) / 2 / width, (y0 + y1) / 2 / height, (x1 - x0) / width, (y1 - y0) / height], -1)


class RefLargestObjectHead(nn.Module):
    """Trivial baseline: the box of the image's largest annotated object, whatever the expression says (the
    whole image when it has none). No parameters."""

    dense = False

    def __init__(self, in_dims: list[int], out_channels: int = 4, pooled_dim: int = 0, **_):
        super().__init__()
        self.in_dims = [int(d) for d in in_dims]

    def forward(self, feats: list[torch.Tensor], pooled: torch.Tensor | None = None, object_boxes=None,
                image_size=None, **_) -> dict[str, torch.Tensor]:
        """``{'boxes': [N, 4]}`` normalised ``cx, cy, w, h``."""
        _require(self, object_boxes=object_boxes, image_size=image_size)
        whole = torch.tensor([0.0, 0.0, image_size[1], image_size[0]])
        picked = []
        for boxes in object_boxes:
            boxes = boxes.detach().float().cpu().reshape(-1, 4)
            area = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
            picked.append(boxes[int(area.argmax())] if len(boxes) else whole)
        return {'boxes': _xyxy_to_cxcywh(torch.stack(picked), image_size).to(feats[0].device)}


class RefCentreHead(nn.Module):
    """Trivial baseline: one constant box for every image and expression, learned with the task's box loss
    (starts as the centred box of half the image's width and height)."""

    dense = False

    def __init__(self, in_dims: list[int], out_channels: int = 4, pooled_dim: int = 0, **_):
        super().__init__()
        self.in_dims = [int(d) for d in in_dims]
        self.box_logits = nn.Parameter(torch.zeros(4))  # sigmoid(0) = 0.5: centre (0.5, 0.5), size 0.5 x 0.5

    def forward(self, feats: list[torch.Tensor], pooled: torch.Tensor | None = None, **_) -> dict[str, torch.Tensor]:
        """``{'boxes': [N, 4]}`` normalised ``cx, cy, w, h``, the same for every image."""
        return {'boxes': self.box_logits.sigmoid()[None].expand(feats[0].shape[0], -1)}


REF_HEADS = {'ref_decoder': RefDecoderHead, 'ref_similarity': RefSimilarityHead,
             'ref_largest': RefLargestObjectHead, 'ref_centre': RefCentreHead}

"""The SigLIP 2 text tower: token + position embeddings, pre-LN transformer, final LayerNorm, last-token pooling and
a linear head into the joint image-text space (big_vision ``proj/image_text/text_transformer.py``; transformers
``SiglipTextModel``; open_clip ``TextTransformer(pool_type='last', no_causal_mask=True)``).

One state-dict layout, timm's block names (the image tower's): ``token_embed.weight``, ``pos_embed (1, L, W)``,
``blocks.N.{norm1, attn.qkv, attn.proj, norm2, mlp.fc1, mlp.fc2}``, ``norm``, ``head``, ``logit_scale``,
``logit_bias``. Every checkpoint format is converted into it by :mod:`dense.text.convert`. Attention is
bidirectional over all 64 positions, padding included (no mask), as the towers were trained.
"""
from __future__ import annotations

import math
import warnings
from functools import partial

import torch
import torch.nn.functional as F
from timm.layers import get_act_layer
from timm.models.vision_transformer import Block
from torch import Tensor, nn

from .templates import resolve_templates
from .tokenizer import SiglipTokenizer
from .variants import TextVariant

ENCODE_BATCH = 256  # texts per forward in encode_text / class_embeddings


def siglip_logits(image_embeds: Tensor, text_embeds: Tensor, logit_scale: Tensor, logit_bias: Tensor) -> Tensor:
    """SigLIP image-text logits ``exp(t) * cos(image, text) + b``, shape ``(N_image, N_text)``.

    As transformers ``SiglipModel.forward`` computes ``logits_per_image`` (both embeddings L2-normalised, the
    text-by-image product scaled by ``logit_scale.exp()``, ``logit_bias`` added, then transposed); the sigmoid of a
    logit is the probability that the pair matches (Zhai et al., 2023).
    """
    image = image_embeds / image_embeds.norm(p=2, dim=-1, keepdim=True)
    text = text_embeds / text_embeds.norm(p=2, dim=-1, keepdim=True)
    return (text @ image.T * logit_scale.exp() + logit_bias).T


class TextEncoder(nn.Module):
    """A SigLIP 2 text tower with the suite's text interface (docs/CONTRACTS.md, "Text tower").

    Frozen and in eval mode when built; ``requires_grad_(True).train()`` makes it trainable (the class-embedding
    cache is then bypassed).

    Attributes:
        spec: The :class:`TextVariant`.
        variant: Its key (the paired image variant's).
        embed_dim: Joint image-text dimension.
        tokenizer: A :class:`SiglipTokenizer`, or None (then :meth:`tokenize` explains how to get one).
        weights_sha256: Hash of the loaded weight file(s), or ``'random-init-seed<N>'``.
        logit_scale, logit_bias: Learned ``t`` (log of the logit scale) and ``b``, shape ``(1,)``.
    """

    def __init__(self, spec: TextVariant, tokenizer: SiglipTokenizer | None = None, device=None, init: bool = True):
        super().__init__()
        self.spec, self.variant, self.embed_dim = spec, spec.key, spec.embed_dim
        self.context = spec.context
        self.tokenizer = tokenizer
        self.weights_sha256 = ''
        self.token_embed = nn.Embedding(spec.vocab, spec.width, device=device)
        self.pos_embed = nn.Parameter(torch.empty(1, spec.context, spec.width, device=device))
        norm = partial(nn.LayerNorm, eps=1e-6)
        self.blocks = nn.Sequential(*[
            Block(spec.width, spec.heads, mlp_ratio=spec.mlp / spec.width, qkv_bias=True, norm_layer=norm,
                  act_layer=get_act_layer('gelu_tanh'), device=device) for _ in range(spec.depth)])
        if spec.depth and self.blocks[0].mlp.fc1.out_features != spec.mlp:
            raise RuntimeError(f'{spec.key}: text MLP width {spec.mlp} not reproduced by timm mlp_ratio')
        self.norm = norm(spec.width, device=device)
        self.head = nn.Linear(spec.width, spec.embed_dim, device=device)
        # big_vision two_towers init: t = log(10), b = -10 (SigLIP, Zhai et al., 2023, section 3.3)
        self.logit_scale = nn.Parameter(torch.full((1,), math.log(10.0), device=device))
        self.logit_bias = nn.Parameter(torch.full((1,), -10.0, device=device))
        self._cache: dict = {}
        if init and str(device) != 'meta':  # init=False: weights are loaded next
            self._init_weights()
        self.freeze()

    def _init_weights(self) -> None:
        nn.init.normal_(self.token_embed.weight, std=self.spec.width ** -0.5)
        nn.init.normal_(self.pos_embed, std=self.spec.width ** -0.5)
        for m in self.modules():
            if isinstance(m, nn.Linear):
                nn.init.trunc_normal_(m.weight, std=0.02)
                nn.init.zeros_(m.bias)

    def freeze(self) -> 'TextEncoder':
        """Stop gradients into the weights and switch to eval mode."""
        for p in self.parameters():
            p.requires_grad_(False)
        return self.train(False)

    @property
    def device(self) -> torch.device:
        return self.token_embed.weight.device

    def tokenize(self, texts) -> Tensor:
        """``int64[N, 64]`` ids (lower-cased, EOS kept, right pad 0); warns naming the texts cut to 64 tokens."""
        if self.tokenizer is None:
            raise ValueError(f'{self.variant}: this text tower has no tokenizer (random-init weights without a '
                             'tokenizer file); pass weights= a HF SigLIP 2 directory or hub id, or tokenizer= the '
                             'path of its tokenizer.model / tokenizer.json')
        ids, truncated = self.tokenizer(list(texts))
        if any(truncated):
            cut = [t for t, c in zip(texts, truncated) if c]
            warnings.warn(f'{len(cut)} text(s) longer than {self.context} tokens were cut to {self.context} '
                          f'(EOS kept), e.g. {cut[0][:80]!r}', stacklevel=2)
        if ids.numel() and int(ids.max()) >= self.spec.vocab:
            raise ValueError(f'{self.tokenizer.path}: token id {int(ids.max())} outside the tower\'s '
                             f'{self.spec.vocab}-token vocabulary; pass the tokenizer the weights were trained with')
        return ids

    def token_lengths(self, texts) -> list:
        """Tokens each text takes before truncation, EOS included (> 64 means :meth:`tokenize` cuts it)."""
        self.tokenize([])  # the no-tokenizer error
        return [len(self.tokenizer.encode(t)) + 1 for t in texts]

    def forward(self, ids: Tensor) -> tuple:
        """``ids int64[N, L]`` (L <= 64) -> (final-LN token states ``(N, L, W)``, projected last token ``(N, D)``)."""
        if ids.ndim != 2 or ids.shape[1] > self.context:
            raise ValueError(f'expected token ids of shape (N, <= {self.context}), got {tuple(ids.shape)}')
        x = self.token_embed(ids) + self.pos_embed[:, :ids.shape[1]]
        x = self.norm(self.blocks(x))
        return x, self.head(x[:, -1])

    def encode_text(self, texts) -> Tensor:
        """``float32[N, D]``: the pooled, projected text embeddings (not normalised)."""
        ids = self.tokenize(texts).to(self.device)
        if not len(ids):
            return torch.zeros(0, self.embed_dim, device=self.device)
        return torch.cat([self(chunk)[1] for chunk in ids.split(ENCODE_BATCH)]).float()

    def token_features(self, texts) -> tuple:
        """``(float32[N, 64, W], bool[N, 64])``: final-LN token states and the mask of real tokens (text + EOS)."""
        ids = self.tokenize(texts).to(self.device)
        tokens = self(ids)[0].float()
        return tokens, ids != self.tokenizer.pad_id

    def logits(self, image_embeds: Tensor, text_embeds: Tensor) -> Tensor:
        """``(N_image, N_text)`` SigLIP logits with this tower's learned scale and bias (:func:`siglip_logits`)."""
        return siglip_logits(image_embeds, text_embeds, self.logit_scale, self.logit_bias)

    def class_embeddings(self, names, templates='imagenet80') -> Tensor:
        """``float32[C, D]``: each class name in every template, embedded, L2-normalised, averaged, re-normalised.

        The CLIP prompt-ensemble recipe (Radford et al., 2021, notebook ``Prompt_Engineering_for_ImageNet``), as
        SCLIP / ClearCLIP / NACLIP build their classifiers. Cached per (weights, names, templates) while the tower is
        frozen and unchanged.

        Raises:
            ValueError: Empty class list, empty or duplicate names, or a bad template list.
        """
        names = check_class_names(names)
        templates = resolve_templates(templates)
        key = (self.weights_sha256, names, templates, self.device, self._version())
        if key in self._cache:
            return self._cache[key].clone()
        texts = [t.format(n) for n in names for t in templates]
        emb = F.normalize(self.encode_text(texts), dim=-1).view(len(names), len(templates), -1)
        emb = F.normalize(emb.mean(1), dim=-1)
        if key[-1] is not None:  # keep the entries of the current weights only
            self._cache = {k: v for k, v in self._cache.items() if k[0] == key[0] and k[-1] == key[-1]}
            self._cache[key] = emb.detach()
        return emb

    def _version(self):
        """A token that changes with any in-place weight update; None while any weight is trainable (no cache)."""
        params = list(self.parameters())
        if any(p.requires_grad for p in params):
            return None
        return tuple((p.data_ptr(), p._version) for p in params)


def check_class_names(names) -> tuple:
    """Class names as a tuple; ValueError for an empty list, a non-string / empty name or duplicates."""
    if isinstance(names, str):
        raise ValueError(f'class names must be a list of strings, got the string {names!r}')
    names = tuple(names)
    if not names:
        raise ValueError('empty class-name list: give at least one class name')
    bad = [n for n in names if not isinstance(n, str) or not n.strip()]
    if bad:
        raise ValueError(f'class names must be non-empty strings, got {bad[:3]!r}')
    seen, dups = set(), []
    for n in names:
        if n.lower() in seen:
            dups.append(n)
        seen.add(n.lower())
    if dups:
        raise ValueError(f'duplicate class names (compared lower-cased, as the tokenizer sees them): {dups[:5]!r}')
    return names

"""``build_text_encoder``: the SigLIP 2 text tower of a variant, random-init or from a checkpoint, with tokenizer."""
from __future__ import annotations

import dataclasses

import torch

from dense.encoders.manifest import shipped_dir
from dense.encoders.variants import get_variant

from .checkpoint import load_text_weights, read_text_config
from .model import TextEncoder
from .tokenizer import SiglipTokenizer
from .train_tokenizer import SHIPPED_MODEL
from .variants import get_text_variant, text_variant_from_config


def build_text_encoder(name: str, weights=None, seed: int = 0, tokenizer=None, allow_download: bool | None = None,
                       device=None, **overrides) -> TextEncoder:
    """Build a frozen SigLIP 2 text tower.

    Args:
        name: Any name of the paired image variant (``'siglip2-b16-224'``, ``'google/siglip2-base-patch16-224'``,
            ``'tiny'``, ``'test'``; see :data:`dense.encoders.VARIANTS`). A name without a text tower in the table
            (e.g. a scene-trained variant) is sized from the checkpoint's ``text_config``.
        weights: None for the variant's shipped weights (``scenes-sigmoid``, ``scenes-dense``: the text tower of
            the same verified directory as :func:`dense.encoders.build_encoder` loads) or else seeded random init;
            or a HF directory or hub id (full ``SiglipModel`` / ``Siglip2Model`` or text-only), an open_clip
            ``.safetensors``, or a big_vision ``.npz`` (``:txt``).
        seed: Seed of the random init (recorded as ``weights_sha256 = 'random-init-seed<N>'``).
        tokenizer: A ``tokenizer.model`` / ``tokenizer.json`` (or a folder with one); default: the one next to the
            weights, else the suite's shipped model for ``tiny`` / ``test``; real variants without either have none
            (``encode_text`` then says what to pass).
        allow_download: Fetch a hub id missing from the local cache (default: env SPROBE_ALLOW_DOWNLOAD=1).
        device: Where to build (``'meta'``: structure only).
        **overrides: :class:`TextVariant` fields to change (e.g. ``vocab=1024``); the key then records them.

    Returns:
        The tower, frozen and in eval mode, with ``variant``, ``weights_sha256`` and ``tokenizer`` set.

    Raises:
        KeyError: Unknown variant name.
        CheckpointError: (a ValueError) unreadable checkpoint, one without a text tower, or of other dims.
    """
    if weights is None and str(device) != 'meta':
        weights = _shipped_weights(name)
    spec = _text_variant(name, weights, allow_download)
    if overrides:
        tag = ','.join(f'{k}={v}' for k, v in sorted(overrides.items()))
        spec = dataclasses.replace(spec, key=f'{spec.key}[{tag}]', **overrides)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        enc = TextEncoder(spec, device=device, init=weights is None)
    enc.weights_sha256 = f'random-init-seed{seed}'
    found = None
    if weights is not None:
        enc.weights_sha256, found = load_text_weights(enc, weights, allow_download)
    source = tokenizer or found or (SHIPPED_MODEL if spec.shipped_tokenizer else None)
    if source is not None:
        enc.tokenizer = SiglipTokenizer(source, spec.context)
    return enc.freeze()


def _text_variant(name: str, weights, allow_download):
    """The table's text tower for ``name``; else the one a transformers checkpoint's ``text_config`` describes."""
    try:
        return get_text_variant(name)
    except KeyError:
        config = None if weights is None else read_text_config(weights, allow_download)
        if config is None:
            raise
        return text_variant_from_config(name, config)


def _shipped_weights(name: str):
    """The verified shipped directory of the image variant ``name`` (scene-trained encoders), else None."""
    try:
        shipped = getattr(get_variant(name), 'shipped', '')
    except KeyError:
        return None
    return shipped_dir(shipped) if shipped else None

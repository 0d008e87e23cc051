"""``build_encoder``: a SigLIP 2 variant by any of its names, random-init or from a checkpoint."""
import dataclasses

import torch

from .checkpoint import load_weights
from .manifest import shipped_dir
from .model import SiglipEncoder
from .variants import get_variant


def build_encoder(name: str, weights=None, pos_resize: str | None = None, seed: int = 0, device=None,
                  allow_download: bool | None = None, **overrides) -> SiglipEncoder:
    """Build a frozen SigLIP 2 encoder.

    Args:
        name: A variant key (``'siglip2-b16-224'``, ``'tiny'``, ``'test'``) or its HF / timm / open_clip /
            big_vision name (see :data:`dense.encoders.VARIANTS`).
        weights: None for the variant's shipped weights (``scenes-sigmoid``, ``scenes-dense``: checked against
            their sha256 manifest; not on ``device='meta'``) or else seeded random init; or a HF directory or hub
            id, a timm / open_clip ``.safetensors``, or a big_vision ``.npz`` (optionally ``file.npz:img``); see
            :mod:`dense.encoders.checkpoint`.
        pos_resize: Position-embedding resize mode for off-native inputs (default: the variant's own).
        seed: Seed of the random init (recorded as ``weights_sha256 = 'random-init-seed<N>'``).
        device: Where to build; ``'meta'`` builds the structure without memory.
        allow_download: Fetch a hub id missing from the local cache (default: env SPROBE_ALLOW_DOWNLOAD=1).
        **overrides: :class:`Variant` fields to change (e.g. ``depth=2``); the key then records them.

    Returns:
        The encoder, frozen and in eval mode, with ``variant`` and ``weights_sha256`` recorded.

    Raises:
        KeyError: Unknown variant name.
        CheckpointError: (a ValueError) unreadable checkpoint or one that does not fit the variant; a shipped file
            whose sha256 differs from the manifest.
    """
    variant = get_variant(name)
    if overrides:
        tag = ','.join(f'{k}={v}' for k, v in sorted(overrides.items()))
        variant = dataclasses.replace(variant, key=f'{variant.key}[{tag}]', **overrides)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        enc = SiglipEncoder(variant, pos_resize=pos_resize, device=device)
    enc.weights_sha256 = f'random-init-seed{seed}'
    if weights is None and variant.shipped and str(device) != 'meta':
        weights = shipped_dir(variant.shipped)
    if weights is not None:
        enc.weights_sha256 = load_weights(enc, weights, allow_download)
    return enc.freeze()

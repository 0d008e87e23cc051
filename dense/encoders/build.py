"""``build_encoder``: a SigLIP 2 variant by any of its names, random-init or from a checkpoint."""
import torch

from .model import SiglipEncoder
from .variants import get_variant


def build_encoder(name: str, weights=None, pos_resize: str | None = None, seed: int = 0,
                  device=None) -> SiglipEncoder:
    """Build a frozen SigLIP 2 encoder.

    Args:
        name: A variant key (``'siglip2-b16-224'``, ``'tiny'``, ``'test'``) or its HF / timm / open_clip /
            big_vision name (see :data:`dense.encoders.VARIANTS`).
        weights: None for seeded random init, else a checkpoint (see :func:`dense.encoders.load_weights`).
        pos_resize: Position-embedding resize mode for off-native inputs (default: the variant's own).
        seed: Seed of the random init (recorded as ``weights_sha256 = 'random-init-seed<N>'``).
        device: Where to build; ``'meta'`` builds the structure without memory.

    Returns:
        The encoder, frozen and in eval mode.
    """
    variant = get_variant(name)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        enc = SiglipEncoder(variant, pos_resize=pos_resize, device=device)
    enc.weights_sha256 = f'random-init-seed{seed}'
    if weights is not None:
        from .checkpoint import load_weights
        enc.weights_sha256 = load_weights(enc, weights)
    return enc.freeze()

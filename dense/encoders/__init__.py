"""Frozen SigLIP 2 vision encoders (Tschannen et al., 2025): one wrapper over timm's ViT for every variant."""
from .build import build_encoder
from .model import EncoderOutput, SiglipEncoder, resize_pos_embed
from .variants import POS_RESIZE_MODES, VARIANTS, Variant, get_variant

__all__ = ['build_encoder', 'VARIANTS', 'EncoderOutput', 'SiglipEncoder', 'Variant', 'get_variant',
           'resize_pos_embed', 'POS_RESIZE_MODES']

"""The SigLIP 2 text tower (Tschannen et al., 2025): tokenizer, encoder, class-name embeddings, image-text logits."""
from dense.encoders.checkpoint import CheckpointError

from .build import build_text_encoder
from .model import TextEncoder, check_class_names, siglip_logits
from .templates import IMAGENET_TEMPLATES, SHORT_TEMPLATES, TEMPLATE_SETS, resolve_templates
from .tokenizer import SiglipTokenizer
from .variants import TextVariant, get_text_variant, text_variant_for

__all__ = ['build_text_encoder', 'TextEncoder', 'TextVariant', 'SiglipTokenizer', 'get_text_variant',
           'text_variant_for', 'siglip_logits', 'check_class_names', 'IMAGENET_TEMPLATES', 'SHORT_TEMPLATES',
           'TEMPLATE_SETS', 'resolve_templates', 'CheckpointError']

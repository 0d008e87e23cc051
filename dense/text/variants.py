"""The SigLIP 2 text towers, keyed by the same names as the vision variants (:mod:`dense.encoders.variants`).

Dimensions from the SigLIP 2 release (big_vision ``README_siglip2.md``; the HF ``text_config`` of each
``google/siglip2-*`` checkpoint; open_clip ``model_configs/ViT-*-SigLIP2*.json``): the B, L and So400m text towers
have the width, depth, heads and MLP of their image towers, 64 tokens and the 256k Gemma vocabulary; g-opt pairs
with the So400m text tower, projected to its 1536-d joint space. ``tiny`` / ``test`` are random-init towers sized
like their image towers, with the small sentencepiece model shipped in ``dense/text/assets``.
"""
from dataclasses import dataclass

from dense.encoders.variants import Variant, get_variant

CONTEXT_LENGTH = 64
GEMMA_VOCAB = 256_000
SHIPPED_VOCAB = 1024  # pieces of dense/text/assets/scenes_bpe1024.model (python -m dense.text.train_tokenizer)


@dataclass(frozen=True)
class TextVariant:
    """One text tower.

    Attributes:
        key: The paired image variant's key (``'siglip2-b16-224'``, ``'tiny'``).
        width, depth, heads, mlp: Transformer dims.
        vocab: Token vocabulary size.
        context: Tokens per text (position embeddings).
        embed_dim: Joint image-text dimension (the image tower's pooled width; the text head projects to it).
        shipped_tokenizer: True if the tower uses the sentencepiece model shipped with the suite.
    """

    key: str
    width: int
    depth: int
    heads: int
    mlp: int
    vocab: int
    context: int
    embed_dim: int
    shipped_tokenizer: bool = False


# image tower (family, width, depth) -> text tower (width, depth, heads, mlp): the one table; g-opt -> So400m text.
# Other families (SigLIP 1, PaliGemma, scene-trained) are sized from their checkpoint's text_config.
_TEXT_TOWERS = {
    ('siglip2', 768, 12): (768, 12, 12, 3072),      # B
    ('siglip2', 1024, 24): (1024, 24, 16, 4096),    # L
    ('siglip2', 1152, 27): (1152, 27, 16, 4304),    # So400m
    ('siglip2', 1536, 40): (1152, 27, 16, 4304),    # g-opt image tower, So400m text tower
}
_RANDOM_INIT = ('tiny', 'test', 'test-naflex', 'scenes')  # sized like their image towers, shipped tokenizer


def text_variant_for(image: Variant) -> TextVariant:
    """The text tower that pairs with an image variant."""
    if image.key in _RANDOM_INIT:
        return TextVariant(image.key, image.width, image.depth, image.heads, image.mlp, SHIPPED_VOCAB,
                           CONTEXT_LENGTH, image.width, shipped_tokenizer=True)
    tower = _TEXT_TOWERS.get((getattr(image, 'family', 'siglip2'), image.width, image.depth))
    if tower is None:
        raise KeyError(f'{image.key}: no SigLIP 2 text tower pairs with a {image.width}-wide, {image.depth}-block '
                       'image tower; pass weights= a checkpoint whose config.json has a text_config')
    return TextVariant(image.key, *tower, GEMMA_VOCAB, CONTEXT_LENGTH, image.width)


def get_text_variant(name: str) -> TextVariant:
    """Look a text tower up by any name of its image variant (our key, HF id, timm / open_clip / big_vision name).

    Raises:
        KeyError: Unknown name (the message lists the keys).
    """
    return text_variant_for(get_variant(name))


def text_variant_from_config(key: str, text_config: dict) -> TextVariant:
    """A text tower described by a transformers ``text_config`` (for towers outside the table, e.g. ones trained on
    the scenes and written as ``SiglipModel`` directories)."""
    try:
        return TextVariant(
            key, int(text_config['hidden_size']), int(text_config['num_hidden_layers']),
            int(text_config['num_attention_heads']), int(text_config['intermediate_size']),
            int(text_config['vocab_size']), int(text_config.get('max_position_embeddings', CONTEXT_LENGTH)),
            int(text_config.get('projection_size') or text_config['hidden_size']),
            shipped_tokenizer=int(text_config['vocab_size']) == SHIPPED_VOCAB)
    except KeyError as e:
        raise KeyError(f'{key}: text_config lacks {e.args[0]!r}; cannot size the text tower') from None

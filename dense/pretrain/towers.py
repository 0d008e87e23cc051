"""The trainable image-text model of scene pretraining, written out as a transformers ``SiglipModel`` checkpoint.

The image tower is the suite's own :class:`dense.encoders.SiglipEncoder` (timm ViT + MAP head), unfrozen for
training; the text tower is transformers' ``SiglipTextModel`` (the SigLIP / SigLIP 2 text architecture: pre-LN
blocks, final LN, last-position pooling, linear head); ``t`` and ``b`` are SigLIP's learned logit scale and bias
(Zhai et al., 2023, "Sigmoid Loss for Language Image Pre-Training": t' = log 10 and b = -10 at init for batches
of 32k; ``bias_init`` lets a small batch start near its own balance, b = -ln(batch), instead: from -10 a batch of 32
first collapses to the constant solution, every caption embedded alike, and stays there).
"""
from __future__ import annotations

import math
from pathlib import Path

import torch
from torch import Tensor, nn

from dense.encoders import build_encoder
from dense.encoders.convert import timm_to_hf
from dense.io import write_bytes, write_json


def _quiet_transformers():
    import transformers
    transformers.logging.set_verbosity_error()
    return transformers


def vit_tokens(vit: nn.Module, pixels: Tensor, mask: Tensor | None = None, mask_token: Tensor | None = None) -> Tensor:
    """Final-LN tokens ``(N, h*w, C)`` of normalized pixels; ``mask`` (N, h, w) swaps patches for ``mask_token``.

    The same steps as timm ``VisionTransformer.forward_features``, with masking after the patch embedding (iBOT /
    TIPS masked image modelling replaces masked patch embeddings by a learned token).
    """
    x = vit.patch_embed(pixels)  # (N, h, w, C): the suite's ViT is built with dynamic_img_size
    if mask is not None:
        x = torch.where(mask[..., None], mask_token.to(x.dtype), x)
    x = vit.norm_pre(vit.patch_drop(vit._pos_embed(x)))
    return vit.norm(vit.blocks(x))


class ImageText(nn.Module):
    """Image tower (timm layout), text tower (HF layout), logit scale ``t`` (log) and bias ``b``.

    Args:
        variant: Image-tower variant key in :data:`dense.encoders.VARIANTS` (e.g. ``'scenes'``).
        text: ``SiglipTextConfig`` fields (hidden_size, num_hidden_layers, ... and vocab_size).
        seed: Seed of the initialisation of both towers.
        bias_init: Initial logit bias b.
    """

    def __init__(self, variant: str, text: dict, seed: int = 0, bias_init: float = -10.0):
        super().__init__()
        transformers = _quiet_transformers()
        encoder = build_encoder(variant, seed=seed)
        self.variant = encoder.spec
        self.vit = encoder.vit.requires_grad_(True)
        self.text_config = transformers.SiglipTextConfig(
            projection_size=self.variant.width, pad_token_id=0, eos_token_id=1, bos_token_id=2,
            hidden_act='gelu_pytorch_tanh', layer_norm_eps=1e-6, **text)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed + 1)
            self.text = transformers.SiglipTextModel(self.text_config)
        self.logit_scale = nn.Parameter(torch.tensor([math.log(10.0)]))
        self.logit_bias = nn.Parameter(torch.tensor([float(bias_init)]))

    def tokens(self, pixels: Tensor, mask: Tensor | None = None, mask_token: Tensor | None = None) -> Tensor:
        """Final-LN image tokens (see :func:`vit_tokens`)."""
        return vit_tokens(self.vit, pixels, mask, mask_token)

    def pool(self, tokens: Tensor) -> Tensor:
        """The MAP-head embedding of final tokens."""
        return self.vit.pool(tokens)

    def encode_text(self, ids: Tensor) -> Tensor:
        """Projected last-position text embedding ``(N, D)`` of token ids."""
        return self.text(input_ids=ids).pooler_output

    def hf_state(self) -> dict:
        """The whole model in ``SiglipModel``'s state-dict layout."""
        state = timm_to_hf({k: v.detach() for k, v in self.vit.state_dict().items()})
        state.update({f'text_model.{k}': v.detach() for k, v in self.text.state_dict().items()})
        state['logit_scale'], state['logit_bias'] = self.logit_scale.detach(), self.logit_bias.detach()
        return {k: v.float().cpu().contiguous().clone() for k, v in state.items()}

    def hf_config(self) -> dict:
        """``SiglipConfig`` of this model as a dict (``model_type 'siglip'``, like fixed-resolution SigLIP 2)."""
        transformers = _quiet_transformers()
        v = self.variant
        vision = transformers.SiglipVisionConfig(
            hidden_size=v.width, intermediate_size=v.mlp, num_hidden_layers=v.depth, num_attention_heads=v.heads,
            image_size=v.image_size, patch_size=v.patch, hidden_act='gelu_pytorch_tanh', layer_norm_eps=1e-6)
        config = transformers.SiglipConfig(text_config=self.text_config.to_dict(), vision_config=vision.to_dict())
        return config.to_dict()


TOKENIZER_CONFIG = {  # what AutoTokenizer needs to read tokenizer.model like the Gemma tokenizer of SigLIP 2
    'tokenizer_class': 'GemmaTokenizer', 'pad_token': '<pad>', 'eos_token': '<eos>', 'bos_token': '<bos>',
    'unk_token': '<unk>', 'add_bos_token': False, 'add_eos_token': True, 'padding_side': 'right',
}


def save_hf_dir(model: ImageText, out_dir: str | Path, tokenizer_file: str | Path, extra: dict) -> list[Path]:
    """Write ``config.json``, ``model.safetensors``, ``tokenizer.model`` + ``tokenizer_config.json`` and the
    ``extra`` text files (name -> content) into ``out_dir``; every file atomically. Returns the files written."""
    from safetensors.torch import save

    out = Path(out_dir)
    files = [write_json(out / 'config.json', model.hf_config(), sort_keys=True),
             write_bytes(out / 'model.safetensors', save(model.hf_state(), metadata={'format': 'pt'})),
             write_bytes(out / 'tokenizer.model', Path(tokenizer_file).read_bytes()),
             write_json(out / 'tokenizer_config.json',
                        dict(TOKENIZER_CONFIG, model_max_length=model.text_config.max_position_embeddings),
                        sort_keys=True)]
    files += [write_bytes(out / name, text.encode()) for name, text in extra.items()]
    return files

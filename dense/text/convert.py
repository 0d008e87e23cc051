"""State-dict converters from each published SigLIP 2 text-tower layout into ours (:mod:`dense.text.model`).

Layouts, read from their reference code: transformers ``SiglipTextModel`` / ``Siglip2TextModel`` (alone, or under
``text_model.`` in ``SiglipModel`` / ``Siglip2Model`` with top-level ``logit_scale`` / ``logit_bias``); open_clip
``CustomTextCLIP`` with ``TextTransformer`` under ``text.`` (``open_clip/transformer.py``: ``token_embedding``,
``positional_embedding``, ``transformer.resblocks.N.{ln_1, attn.in_proj_*, attn.out_proj, ln_2, mlp.c_fc,
mlp.c_proj}``, ``ln_final``, ``text_projection``); big_vision two-tower npz (``params/txt/``: ``Embed_0/embedding``,
``pos_embedding``, ``Encoder_0/encoderblock[_N]/...`` scanned or unrolled, ``Encoder_0/encoder_norm``, ``head``;
``params/t`` = log temperature, ``params/b`` = bias; ``big_vision/models/proj/image_text/{text_transformer,
two_towers}.py``). Pure functions; checking against the model is :mod:`dense.text.checkpoint`'s job.
"""
from __future__ import annotations

import re

from dense.encoders.convert import as_tensor, big_vision_block, block_arrays, dense_kernel, hf_blocks_to_timm

_HF_PREFIXES = ('model.text_model.', 'text_model.', 'model.')
_HF_TOP = {
    'embeddings.token_embedding.weight': 'token_embed.weight', 'final_layer_norm.weight': 'norm.weight',
    'final_layer_norm.bias': 'norm.bias', 'head.weight': 'head.weight', 'head.bias': 'head.bias',
}
_OPEN_CLIP_BLOCK = {
    'ln_1': 'norm1', 'ln_2': 'norm2', 'attn.out_proj': 'attn.proj', 'mlp.c_fc': 'mlp.fc1', 'mlp.c_proj': 'mlp.fc2',
}
_OPEN_CLIP_TOP = {'text.token_embedding.weight': 'token_embed.weight', 'text.ln_final.weight': 'norm.weight',
                  'text.ln_final.bias': 'norm.bias', 'text.text_projection.weight': 'head.weight',
                  'text.text_projection.bias': 'head.bias'}
LOGIT_KEYS = ('logit_scale', 'logit_bias')


def hf_text_to_ours(state: dict) -> dict:
    """transformers SigLIP / SigLIP 2 text keys (optionally ``text_model.``-prefixed) -> ours.

    Unknown keys pass through unchanged so the caller reports them.
    """
    text = {}
    for k, v in state.items():
        for p in _HF_PREFIXES:
            if k.startswith(p):
                k = k[len(p):]
                break
        text[k] = v
    out = hf_blocks_to_timm(text)
    for k, v in text.items():
        if k.startswith('encoder.layers.'):
            continue
        if k == 'embeddings.position_embedding.weight':
            out['pos_embed'] = v.reshape(1, -1, v.shape[-1])
        elif k in LOGIT_KEYS:
            out[k] = v.reshape(1)
        else:
            out[_HF_TOP.get(k, k)] = v
    return out


def open_clip_text_to_ours(state: dict) -> dict:
    """open_clip SigLIP text keys (``text.*``, ``logit_scale``, ``logit_bias``) -> ours; others pass through."""
    out = {}
    for k, v in state.items():
        dotted = k.replace('.attn.in_proj_', '.attn.in_proj.')  # in_proj_weight -> in_proj.weight
        m = re.fullmatch(r'text\.transformer\.resblocks\.(\d+)\.(.+)\.(weight|bias)', dotted)
        name = m and ('attn.qkv' if m.group(2) == 'attn.in_proj' else _OPEN_CLIP_BLOCK.get(m.group(2)))
        if name:
            out[f'blocks.{m.group(1)}.{name}.{m.group(3)}'] = v
        elif k == 'text.positional_embedding':
            out['pos_embed'] = v.reshape(1, -1, v.shape[-1])
        elif k == 'text.text_projection' and v.ndim == 2:  # proj_bias=False: a (width, dim) matrix
            out['head.weight'], out['head.bias'] = v.T.contiguous(), v.new_zeros(v.shape[1])
        elif k in LOGIT_KEYS:
            out[k] = v.reshape(1)
        else:
            out[_OPEN_CLIP_TOP.get(k, k)] = v
    return out


def big_vision_text_to_ours(w: dict, t=None, b=None) -> dict:
    """A big_vision text tower (keys relative to ``txt/``) plus the two-tower ``t`` and ``b`` -> ours.

    Raises:
        KeyError: Naming the first missing big_vision key.
    """
    out = {'token_embed.weight': as_tensor(w['Embed_0/embedding'])}
    pos = as_tensor(w['pos_embedding'])
    out['pos_embed'] = pos.reshape(1, -1, pos.shape[-1])
    for i, block in enumerate(block_arrays(w, 'Encoder_0/')):
        out.update(big_vision_block(block, f'blocks.{i}.'))
    out['norm.weight'] = as_tensor(w['Encoder_0/encoder_norm/scale'])
    out['norm.bias'] = as_tensor(w['Encoder_0/encoder_norm/bias'])
    out['head.weight'] = dense_kernel(w['head/kernel'])
    out['head.bias'] = as_tensor(w['head/bias'])
    for key, value in zip(LOGIT_KEYS, (t, b)):
        if value is not None:
            out[key] = as_tensor(value).reshape(1)
    return out


def has_text_tower(keys) -> bool:
    """True if a state dict (any layout above or ours, before conversion) holds a text token embedding."""
    return any(k.endswith(('token_embedding.weight', 'Embed_0/embedding')) or k == 'token_embed.weight' for k in keys)


__all__ = ['hf_text_to_ours', 'open_clip_text_to_ours', 'big_vision_text_to_ours', 'has_text_tower', 'LOGIT_KEYS']

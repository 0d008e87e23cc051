"""State-dict converters from each published SigLIP 2 layout into timm's ``VisionTransformer`` layout.

Layouts (read from their reference readers, not copied): Hugging Face ``SiglipVisionModel`` / ``Siglip2VisionModel``
(transformers ``modeling_siglip.py``, ``modeling_siglip2.py``; also as the ``vision_tower`` of
``PaliGemmaForConditionalGeneration``), open_clip's timm trunk (``visual.trunk.``), and
big_vision ``.npz`` (``big_vision/models/vit.py``; read by timm ``vision_transformer._load_weights``). Each function
is pure: arrays in, tensors out; checking against the model is :mod:`dense.encoders.checkpoint`'s job.
"""
import re

import numpy as np
import torch
from torch import Tensor

_HF_BLOCK = {
    'layer_norm1': 'norm1', 'layer_norm2': 'norm2', 'self_attn.out_proj': 'attn.proj',
    'mlp.fc1': 'mlp.fc1', 'mlp.fc2': 'mlp.fc2',
}
_HF_TOP = {
    'post_layernorm': 'norm', 'head.attention.out_proj': 'attn_pool.proj', 'head.layernorm': 'attn_pool.norm',
    'head.mlp.fc1': 'attn_pool.mlp.fc1', 'head.mlp.fc2': 'attn_pool.mlp.fc2',
    'embeddings.patch_embedding': 'patch_embed.proj',
}
# PaliGemma: hub files use 'vision_tower.vision_model.'; transformers 5's save_pretrained writes 'vision_tower.'
HF_VISION_PREFIXES = ('vision_model.', 'model.vision_model.', 'vision_tower.vision_model.',
                      'model.vision_tower.vision_model.', 'vision_tower.', 'model.vision_tower.')
# Image-text checkpoints: the text tower and the logit temperature / bias are not part of the image encoder; nor
# are PaliGemma's projector and language model.
TEXT_PREFIXES = ('text_model.', 'model.text_model.', 'text.', 'logit_scale', 'logit_bias', 'model.logit_',
                 'language_model.', 'model.language_model.', 'multi_modal_projector.', 'model.multi_modal_projector.',
                 'lm_head.')


def is_hf_layout(keys) -> bool:
    """True if the keys are a transformers SigLIP / SigLIP 2 state dict (full or vision-only)."""
    return any(k.endswith('embeddings.patch_embedding.weight') for k in keys)


def patch_linear_to_conv(weight: Tensor, patch: int) -> Tensor:
    """NaFlex Dense patch embedding ``(C, p*p*3)`` over (py, px, c)-ordered pixels -> conv weight ``(C, 3, p, p)``."""
    return weight.reshape(weight.shape[0], patch, patch, -1).permute(0, 3, 1, 2).contiguous()


def hf_to_timm(state: dict, patch: int) -> dict:
    """Convert a transformers Siglip(2) state dict (optionally ``vision_model.``-prefixed, text keys dropped).

    Args:
        state: Tensors keyed as in transformers.
        patch: Patch size (needed to fold a NaFlex Linear patch embedding into a conv).

    Returns:
        Tensors keyed as in timm; unknown keys are passed through unchanged so the caller can report them.
    """
    vision = {}
    for k, v in state.items():
        for p in HF_VISION_PREFIXES:
            if k.startswith(p):
                k = k[len(p):]
                break
        else:
            if k.startswith(TEXT_PREFIXES):
                continue
        vision[k] = v
    out = hf_blocks_to_timm(vision)
    for k, v in vision.items():
        if k.startswith('encoder.layers.'):
            continue
        if k == 'embeddings.position_embedding.weight':
            out['pos_embed'] = v.reshape(1, -1, v.shape[-1])
        elif k == 'embeddings.patch_embedding.weight' and v.ndim == 2:
            out['patch_embed.proj.weight'] = patch_linear_to_conv(v, patch)
        elif k == 'head.probe':
            out['attn_pool.latent'] = v
        elif k.startswith('head.attention.in_proj_'):
            kind = k.rsplit('_', 1)[1]
            out[f'attn_pool.q.{kind}'], out[f'attn_pool.kv.{kind}'] = v.split([v.shape[0] // 3, 2 * v.shape[0] // 3])
        elif k.rsplit('.', 1)[0] in _HF_TOP:
            base, kind = k.rsplit('.', 1)
            out[f'{_HF_TOP[base]}.{kind}'] = v
        else:
            out[k] = v
    return out


def hf_blocks_to_timm(state: dict) -> dict:
    """The ``encoder.layers.N.*`` keys of a transformers SigLIP tower (vision or text) -> timm ``blocks.N.*``.

    q / k / v projections are fused into ``attn.qkv``; keys of a block that lacks one of them keep their HF names
    (reported as unexpected, with ``qkv`` missing). Other keys are ignored.
    """
    out, qkv = {}, {}
    for k, v in state.items():
        m = re.fullmatch(r'encoder\.layers\.(\d+)\.(.+)\.(weight|bias)', k)
        if m and m.group(2) in ('self_attn.q_proj', 'self_attn.k_proj', 'self_attn.v_proj'):
            qkv.setdefault((int(m.group(1)), m.group(3)), {})[m.group(2)[10]] = (k, v)
        elif m and m.group(2) in _HF_BLOCK:
            out[f'blocks.{m.group(1)}.{_HF_BLOCK[m.group(2)]}.{m.group(3)}'] = v
        elif k.startswith('encoder.layers.'):
            out[k] = v
    for (i, kind), parts in qkv.items():
        if len(parts) == 3:
            out[f'blocks.{i}.attn.qkv.{kind}'] = torch.cat([parts[n][1] for n in 'qkv'])
        else:  # incomplete: keep the HF names so they are reported, and qkv shows up as missing
            out.update(dict(parts.values()))
    return out


def open_clip_to_timm(state: dict) -> dict:
    """open_clip SigLIP(2) (timm trunk under ``visual.trunk.``) or plain timm keys -> timm keys.

    Text-tower and logit keys are dropped; any other ``visual.`` key (e.g. a projection head) is kept with its name
    so that it is reported as unexpected.
    """
    if not any(k.startswith('visual.') for k in state):
        return {k: v for k, v in state.items() if not k.startswith(TEXT_PREFIXES)}
    return {k.removeprefix('visual.trunk.'): v for k, v in state.items() if k.startswith('visual.')}


def as_tensor(a) -> Tensor:
    """A numpy array as a contiguous float32 tensor."""
    return torch.from_numpy(np.ascontiguousarray(a, dtype=np.float32))


def dense_kernel(kernel) -> Tensor:
    """Flax Dense kernel ``(in, out)`` -> torch Linear weight ``(out, in)``."""
    return as_tensor(kernel).T


def _mha(w: dict, p: str) -> dict:
    """Flax MultiHeadDotProductAttention params under prefix ``p`` -> torch q, k, v, out weights and biases."""
    out = {}
    for n in ('query', 'key', 'value'):
        out[n] = (as_tensor(w[f'{p}{n}/kernel']).flatten(1).T, as_tensor(w[f'{p}{n}/bias']).reshape(-1))
    kernel = as_tensor(w[f'{p}out/kernel'])  # (heads, head_dim, C)
    out['out'] = (kernel.reshape(-1, kernel.shape[-1]).T, as_tensor(w[f'{p}out/bias']))
    return out


def block_arrays(w: dict, prefix: str = 'Transformer/') -> list:
    """Per-block parameter dicts from scan-stacked (``encoderblock/``) or unrolled (``encoderblock_N/``) layouts.

    ``prefix`` is the encoder's scope: ``Transformer/`` in the image tower, ``Encoder_0/`` in the text tower.
    """
    stacked = {k[len(prefix + 'encoderblock/'):]: v for k, v in w.items() if k.startswith(prefix + 'encoderblock/')}
    if stacked:
        depth = next(iter(stacked.values())).shape[0]
        return [{k: v[i] for k, v in stacked.items()} for i in range(depth)]
    blocks = {}
    for k, v in w.items():
        m = re.match(re.escape(prefix) + r'encoderblock_(\d+)/(.+)', k)
        if m:
            blocks.setdefault(int(m.group(1)), {})[m.group(2)] = v
    return [blocks[i] for i in sorted(blocks)]


def big_vision_block(b: dict, p: str) -> dict:
    """One big_vision ``Encoder1DBlock`` (keys relative to the block) -> timm block keys prefixed ``p``."""
    out = {}
    mha = _mha(b, 'MultiHeadDotProductAttention_0/')
    out[p + 'attn.qkv.weight'] = torch.cat([mha[n][0] for n in ('query', 'key', 'value')])
    out[p + 'attn.qkv.bias'] = torch.cat([mha[n][1] for n in ('query', 'key', 'value')])
    out[p + 'attn.proj.weight'], out[p + 'attn.proj.bias'] = mha['out']
    for j, norm in enumerate(('norm1', 'norm2')):
        out[f'{p}{norm}.weight'] = as_tensor(b[f'LayerNorm_{j}/scale'])
        out[f'{p}{norm}.bias'] = as_tensor(b[f'LayerNorm_{j}/bias'])
    for j in range(2):
        out[f'{p}mlp.fc{j + 1}.weight'] = dense_kernel(b[f'MlpBlock_0/Dense_{j}/kernel'])
        out[f'{p}mlp.fc{j + 1}.bias'] = as_tensor(b[f'MlpBlock_0/Dense_{j}/bias'])
    return out


def big_vision_to_timm(w: dict) -> dict:
    """Convert a big_vision image tower (keys relative to the tower, '/'-joined) into timm keys.

    Args:
        w: Arrays keyed like ``embedding/kernel``, ``pos_embedding``, ``Transformer/encoderblock/...``,
            ``Transformer/encoder_norm/scale``, ``MAPHead_0/...``.

    Returns:
        timm tensors. Raises KeyError naming the first missing big_vision key.
    """
    out = {}
    kernel = as_tensor(w['embedding/kernel'])
    if kernel.ndim == 4:  # conv HWIO
        out['patch_embed.proj.weight'] = kernel.permute(3, 2, 0, 1).contiguous()
    else:  # NaFlex Dense over flattened (py, px, c) patches
        out['patch_embed.proj.weight'] = patch_linear_to_conv(kernel.T, int(round((kernel.shape[0] / 3) ** 0.5)))
    out['patch_embed.proj.bias'] = as_tensor(w['embedding/bias'])
    pos = as_tensor(w['pos_embedding'])
    out['pos_embed'] = pos.reshape(1, -1, pos.shape[-1])
    for i, b in enumerate(block_arrays(w)):
        out.update(big_vision_block(b, f'blocks.{i}.'))
    out['norm.weight'] = as_tensor(w['Transformer/encoder_norm/scale'])
    out['norm.bias'] = as_tensor(w['Transformer/encoder_norm/bias'])
    if any(k.startswith('MAPHead_0/') for k in w):
        out.update(_map_head(w, 'MAPHead_0/'))
    return out


def _map_head(w: dict, p: str) -> dict:
    mha = _mha(w, p + 'MultiHeadDotProductAttention_0/')
    out = {
        'attn_pool.latent': as_tensor(w[p + 'probe']).reshape(1, 1, -1),
        'attn_pool.q.weight': mha['query'][0], 'attn_pool.q.bias': mha['query'][1],
        'attn_pool.kv.weight': torch.cat([mha['key'][0], mha['value'][0]]),
        'attn_pool.kv.bias': torch.cat([mha['key'][1], mha['value'][1]]),
        'attn_pool.proj.weight': mha['out'][0], 'attn_pool.proj.bias': mha['out'][1],
        'attn_pool.norm.weight': as_tensor(w[p + 'LayerNorm_0/scale']), 'attn_pool.norm.bias': as_tensor(w[p + 'LayerNorm_0/bias']),
    }
    for j in range(2):
        out[f'attn_pool.mlp.fc{j + 1}.weight'] = dense_kernel(w[f'{p}MlpBlock_0/Dense_{j}/kernel'])
        out[f'attn_pool.mlp.fc{j + 1}.bias'] = as_tensor(w[f'{p}MlpBlock_0/Dense_{j}/bias'])
    return out


def timm_to_hf(state: dict) -> dict:
    """timm fixed-resolution SigLIP keys -> transformers ``SiglipVisionModel`` keys (``vision_model.``-prefixed).

    The inverse of :func:`hf_to_timm` for conv patch embeddings: used to write trained towers as HF checkpoints.
    """
    block = {v: k for k, v in _HF_BLOCK.items()}
    top = {v: k for k, v in _HF_TOP.items()}
    out = {}
    for k, v in state.items():
        base, kind = k.rsplit('.', 1) if '.' in k else (k, '')
        m = re.fullmatch(r'blocks\.(\d+)\.(.+)', base)
        if m and m.group(2) == 'attn.qkv':
            for name, part in zip('qkv', v.chunk(3)):
                out[f'encoder.layers.{m.group(1)}.self_attn.{name}_proj.{kind}'] = part
        elif m:
            out[f'encoder.layers.{m.group(1)}.{block[m.group(2)]}.{kind}'] = v
        elif k == 'pos_embed':
            out['embeddings.position_embedding.weight'] = v.reshape(-1, v.shape[-1])
        elif k == 'attn_pool.latent':
            out['head.probe'] = v
        elif base == 'attn_pool.q':
            out[f'head.attention.in_proj_{kind}'] = torch.cat([v, state[f'attn_pool.kv.{kind}']])
        elif base != 'attn_pool.kv':
            out[f'{top[base]}.{kind}'] = v
    return {f'vision_model.{k}': v for k, v in out.items()}

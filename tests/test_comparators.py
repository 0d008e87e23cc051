"""Comparators through the one encoder wrapper: SigLIP (v1) and PaliGemma towers from random tiny reference models
saved in their published layouts, and timm ViTs (DINOv2 with registers, CLIP) against timm itself.

Measured max abs diffs (torch 2.14 CPU, fp32) are noted per test.
"""
import numpy as np
import pytest
import timm
import torch
from safetensors.torch import save_file
from test_encoders_parity import TOL, _perturb, big_vision_arrays, check_fixed, hf_fixed, pixels
from transformers import PaliGemmaConfig, PaliGemmaForConditionalGeneration

from dense.encoders import VARIANTS, build_encoder, get_variant

TINY = dict(width=32, depth=4, heads=2, mlp=64, patch=16, image_size=64)


def test_siglip1_every_published_variant_by_name():
    """Every SigLIP (v1) release resolves by its HF / timm / open_clip / big_vision name to one variant."""
    siglip = {k: v for k, v in VARIANTS.items() if v.family == 'siglip'}
    assert len(siglip) == 10
    spot = {'google/siglip-so400m-patch14-384': 'siglip-so400m14-384', 'vit_so400m_patch14_siglip_384.webli':
            'siglip-so400m14-384', 'vit_so400m_patch14_siglip_378.webli': 'siglip-so400m14-384',
            'webli_en_b16_224_63724782.npz': 'siglip-b16-224', 'ViT-B-16-SigLIP': 'siglip-b16-224',
            'google/siglip-base-patch16-256-multilingual': 'siglip-b16-i18n-256',
            'vit_base_patch16_siglip_256.webli_i18n': 'siglip-b16-i18n-256',
            'ViT-SO400M-16-SigLIP-i18n-256': 'siglip-so400m16-i18n-256', 'ViT-L-16-SigLIP-384': 'siglip-l16-384',
            'webli_i18n_so400m_16_256_78061115': 'siglip-so400m16-i18n-256'}
    assert {k: get_variant(k).key for k in spot} == spot
    # timm's untagged definitions are shared by both generations and mean SigLIP 2
    assert get_variant('vit_base_patch16_siglip_224').key == 'siglip2-b16-224'
    for name in ('paligemma-3b-pt-896', 'google/paligemma2-10b-pt-448', 'vit_so400m_patch14_siglip_gap_224.pali_pt'):
        assert get_variant(name).family == 'paligemma' and get_variant(name).pool == 'avg'


def test_siglip1_hf_checkpoint_parity(tmp_path):
    """A SigLIP (v1) HF checkpoint (model_type 'siglip', gelu_pytorch_tanh as every HF SigLIP config) through the
    SigLIP 1 variant. Measured: layers 0, tokens 0, pooled 4.8e-7."""
    ref = hf_fixed(seed=5)
    ref.save_pretrained(tmp_path)
    enc = build_encoder('google/siglip-base-patch16-224', weights=tmp_path, **TINY)
    check_fixed(enc, ref, (64, 64))


def _paligemma(seed=0):
    torch.manual_seed(seed)
    vision = dict(hidden_size=32, intermediate_size=64, num_hidden_layers=4, num_attention_heads=2, image_size=64,
                  patch_size=16, projection_dim=48, vision_use_head=False)
    text = dict(model_type='gemma', hidden_size=48, intermediate_size=64, num_hidden_layers=1, num_attention_heads=2,
                num_key_value_heads=1, head_dim=24, vocab_size=300)
    model = PaliGemmaForConditionalGeneration(PaliGemmaConfig(vision_config=vision, text_config=text,
                                                              projection_dim=48))
    return _perturb(model, seed)


def _check_tower(enc, tower, x):
    """Our layers / tokens / pooled vs the HF vision tower (pooled = token mean: PaliGemma has no MAP head)."""
    with torch.no_grad():
        r = tower(pixel_values=x, output_hidden_states=True)
        ours = enc(x, layers=range(enc.depth))
    n, grid = x.shape[0], (x.shape[-2] // 16, x.shape[-1] // 16)
    d = {'layers': max((ours.layers[i] - r.hidden_states[i + 1].transpose(1, 2).reshape(n, -1, *grid)).abs().max()
                       .item() for i in range(enc.depth)),
         'tokens': (ours.tokens - r.last_hidden_state).abs().max().item(),
         'pooled': (ours.pooled - r.last_hidden_state.mean(1)).abs().max().item()}
    assert max(d.values()) <= TOL, d


def test_paligemma_hf_checkpoints(tmp_path):
    """transformers 5 save_pretrained ('vision_tower.' keys) and the hub layout ('vision_tower.vision_model.',
    projector and language model dropped). Measured (save_pretrained dir): layers 0, tokens 0, pooled 0."""
    model = _paligemma()
    model.save_pretrained(tmp_path / 'hf')
    tower = model.model.vision_tower
    x = pixels(2, 3, 64, 64)
    _check_tower(build_encoder('paligemma-so400m14-224', weights=tmp_path / 'hf', **TINY), tower, x)
    hub = {f'vision_tower.vision_model.{k.removeprefix("vision_model.")}': v for k, v in tower.state_dict().items()}
    hub.update({'multi_modal_projector.linear.weight': torch.zeros(48, 32), 'language_model.model.norm.weight':
                torch.zeros(48)})
    save_file({k: v.contiguous() for k, v in hub.items()}, tmp_path / 'hub.safetensors')
    enc = build_encoder('google/paligemma2-3b-pt-224', weights=tmp_path / 'hub.safetensors', **TINY)
    _check_tower(enc, tower, x)
    assert enc.vit.attn_pool is None


def test_paligemma_big_vision_npz(tmp_path):
    """A big_vision PaliGemma checkpoint: params/img without MAPHead but with the projection 'head' to the LLM
    width, and params/llm. Asserted: every output within 1e-5 of the HF tower."""
    tower = _paligemma(seed=1).model.vision_tower
    state = {k: v for k, v in tower.state_dict().items()}
    c = 32  # big_vision_arrays writes a MAP head: give it a stand-in one, then drop it as PaliGemma has none
    stand_in = {'vision_model.head.probe': torch.zeros(1, 1, c), 'vision_model.head.layernorm.weight': torch.ones(c),
                'vision_model.head.layernorm.bias': torch.zeros(c), 'vision_model.head.mlp.fc1.weight':
                torch.zeros(64, c), 'vision_model.head.mlp.fc1.bias': torch.zeros(64),
                'vision_model.head.mlp.fc2.weight': torch.zeros(c, 64), 'vision_model.head.mlp.fc2.bias':
                torch.zeros(c), 'vision_model.head.attention.in_proj_weight': torch.zeros(3 * c, c),
                'vision_model.head.attention.in_proj_bias': torch.zeros(3 * c),
                'vision_model.head.attention.out_proj.weight': torch.zeros(c, c),
                'vision_model.head.attention.out_proj.bias': torch.zeros(c)}
    arrays = big_vision_arrays({**state, **stand_in}, heads=2)
    arrays = {f'params/img/{k}': v for k, v in arrays.items() if not k.startswith('MAPHead_0/')}
    arrays.update({'params/img/head/kernel': np.zeros((c, 48), np.float32), 'params/img/head/bias':
                   np.zeros(48, np.float32), 'params/llm/final_norm/scale': np.zeros(48, np.float32)})
    np.savez(tmp_path / 'pali.npz', **arrays)
    enc = build_encoder('paligemma-3b-pt-224.npz', weights=tmp_path / 'pali.npz', **TINY)
    _check_tower(enc, tower, pixels(2, 3, 64, 64))


@pytest.mark.parametrize('name', ['vit_small_patch14_reg4_dinov2.lvd142m', 'vit_base_patch32_clip_224.openai'])
def test_timm_comparator_matches_timm(tmp_path, name):
    """Random-init timm ViT saved as safetensors, loaded as 'timm:<name>': block outputs, patch tokens (class and
    register tokens dropped) and pooled output equal timm's own; preprocessing from its pretrained config.
    Measured: 0 for every output (same timm code, same weights)."""
    ref = timm.create_model(name, pretrained=False, num_classes=0, dynamic_img_size=True).eval()
    save_file({k: v.contiguous() for k, v in ref.state_dict().items()}, tmp_path / 'w.safetensors')
    enc = build_encoder(f'timm:{name}', weights=tmp_path / 'w.safetensors')
    cfg = ref.pretrained_cfg
    assert (enc.mean, enc.std) == (tuple(cfg['mean']), tuple(cfg['std']))
    assert enc.embed_dim == ref.embed_dim and enc.depth == len(ref.blocks) and enc.pos_resize == 'bicubic_antialias'
    p = enc.patch_size
    x = enc.normalize(torch.rand(2, 3, 4 * p, 3 * p, generator=torch.Generator().manual_seed(0)))
    with torch.no_grad():
        final, feats = ref.forward_intermediates(x, indices=list(enc.default_layers), output_fmt='NCHW')
        out = enc(x)
        pooled = ref.forward_head(final, pre_logits=True)
    assert [tuple(f.shape[-2:]) for f in out.layers.values()] == [(4, 3)] * 4
    assert all(torch.equal(out.layers[i], f) for i, f in zip(enc.default_layers, feats))
    assert torch.equal(out.tokens, final[:, ref.num_prefix_tokens:]) and out.tokens.shape[1] == 12
    assert torch.equal(out.pooled, pooled)
    with pytest.raises(ValueError, match='timm comparator'):
        enc.pos_resize = 'bilinear'
    with pytest.raises(KeyError, match='not a timm model'):
        get_variant('timm:no_such_model')

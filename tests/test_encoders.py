"""Contract tests for dense.encoders: every registered variant builds; the small ones run and keep the contract."""
import pytest
import timm
from timm.layers.activations import GELUTanh
import torch

from dense.encoders import POS_RESIZE_MODES, VARIANTS, EncoderOutput, SiglipEncoder, build_encoder, get_variant

PUBLISHED = [k for k, v in VARIANTS.items() if v.hf_id]
SIGLIP2 = [k for k in PUBLISHED if VARIANTS[k].family == 'siglip2']


@pytest.mark.parametrize('name', list(VARIANTS))
def test_every_variant_builds_on_meta(name):
    enc = build_encoder(name, device='meta')
    v = VARIANTS[name]
    assert isinstance(enc, SiglipEncoder) and enc.variant == name
    assert (enc.embed_dim, enc.depth, enc.patch_size) == (v.width, v.depth, v.patch)
    assert enc.vit.pos_embed.shape == (1, v.grid ** 2, v.width)
    heads = [enc.vit.attn_pool] if v.pool == 'map' else []  # PaliGemma towers have no MAP head
    assert (enc.vit.attn_pool is None) == (v.pool == 'avg')
    assert all(m.mlp.fc1.out_features == v.mlp for m in [enc.vit.blocks[0], *heads])
    assert enc.vit.blocks[0].attn.num_heads == v.heads
    # SigLIP checkpoints use tanh-GELU everywhere (timm's defs default to exact GELU for some variants)
    assert all(isinstance(m.mlp.act, GELUTanh) for m in [*enc.vit.blocks, *heads])
    # Probe3D's arithmetic, checked by hand: B 2,5,8,11; L 5,11,17,23; So400m 5,12,17,26; g-opt 9,19,29,39
    expected = {6: (0, 2, 5), 12: (2, 5, 8, 11), 24: (5, 11, 17, 23), 27: (5, 12, 17, 26), 40: (9, 19, 29, 39), 8: (1, 3, 5, 7),
                4: (0, 1, 2, 3)}
    assert enc.default_layers == expected[enc.depth]
    assert not enc.training and not any(p.requires_grad for p in enc.parameters())
    assert enc.weights_sha256 == 'random-init-seed0'


@pytest.mark.parametrize('name', [k for k in PUBLISHED if not VARIANTS[k].naflex])
def test_dimensions_match_timm_definitions(name):
    """Our state dict has exactly the keys and shapes of timm's own definition of the variant."""
    v = VARIANTS[name]
    with torch.device('meta'):
        ref = timm.create_model(v.timm_name.split('.')[0], pretrained=False, num_classes=0, weight_init='skip')
    ours = build_encoder(name, device='meta').vit.state_dict()
    theirs = ref.state_dict()
    assert ours.keys() == theirs.keys()
    assert {k: t.shape for k, t in ours.items()} == {k: t.shape for k, t in theirs.items()}


def test_published_names_resolve_to_one_variant():
    for v in VARIANTS.values():
        for alias in v.aliases():
            assert get_variant(alias) is v, alias
    assert get_variant('hf-hub:timm/vit_so400m_patch14_siglip_378.v2_webli').key == 'siglip2-so400m14-384'
    assert get_variant('google/siglip2-base-patch16-naflex').naflex
    spot = {  # names as published (REFERENCE.md table)
        'google/siglip2-so400m-patch14-384': 'siglip2-so400m14-384',
        'ViT-SO400M-14-SigLIP2-378': 'siglip2-so400m14-384',
        'ViT-B-16-SigLIP2': 'siglip2-b16-224', 'ViT-gopt-16-SigLIP2-384': 'siglip2-gopt16-384',
        'siglip2_g-opt16_256.npz': 'siglip2-gopt16-256', 'google/siglip2-giant-opt-patch16-256': 'siglip2-gopt16-256',
        'vit_large_patch16_siglip_512.v2_webli': 'siglip2-l16-512',
        'siglip2_so400m16_naflex': 'siglip2-so400m16-naflex',
        'naflexvit_base_patch16_siglip': 'siglip2-b16-naflex', 'ViT-B-32-SigLIP2-256': 'siglip2-b32-256',
        'siglip2-base-patch32-256': 'siglip2-b32-256', 'ViT-L-16-SigLIP2-384': 'siglip2-l16-384',
    }
    assert {k: get_variant(k).key for k in spot} == spot
    assert VARIANTS['siglip2-so400m14-384'].image_size == 378  # HF's 384 drops 6 px; same 27x27 grid
    with pytest.raises(KeyError, match='unknown SigLIP 2 variant'):
        get_variant('vit_base_patch16_224')


def test_published_variant_table_is_complete():
    assert len(SIGLIP2) == 17
    assert {VARIANTS[k].width for k in SIGLIP2} == {768, 1024, 1152, 1536}


@pytest.mark.parametrize('name', ['test', 'tiny'])
def test_forward_contract(name):
    enc = build_encoder(name)
    h, w = enc.image_size
    x = enc.normalize(torch.rand(2, 3, h, w))
    assert x.min() >= -1 and x.max() <= 1
    out = enc(x)
    assert isinstance(out, EncoderOutput)
    g = h // enc.patch_size, w // enc.patch_size
    assert sorted(out.layers) == list(enc.default_layers)
    for f in out.layers.values():
        assert f.shape == (2, enc.embed_dim, *g) and torch.isfinite(f).all()
    assert out.tokens.shape == (2, g[0] * g[1], enc.embed_dim)
    assert out.pooled.shape == (2, enc.embed_dim)
    assert torch.isfinite(out.tokens).all() and torch.isfinite(out.pooled).all()


def test_intermediates_consistent_with_forward():
    enc = build_encoder('test')
    x = torch.randn(2, 3, 48, 80)
    out = enc(x, layers=(-1, 1))
    assert sorted(out.layers) == [1, 3]
    last = out.layers[3].flatten(2).transpose(1, 2)
    torch.testing.assert_close(enc.vit.norm(last), out.tokens, rtol=0, atol=0)
    torch.testing.assert_close(enc.vit.forward_features(x), out.tokens, rtol=0, atol=1e-6)
    torch.testing.assert_close(enc.vit.attn_pool(out.tokens), out.pooled, rtol=0, atol=1e-6)
    # per-image results do not depend on the batch
    one = enc(x[1:], layers=(1,))
    torch.testing.assert_close(one.layers[1], out.layers[1][1:], rtol=1e-5, atol=1e-5)
    assert enc(x, layers=()).layers == {}


@pytest.mark.parametrize('size', [(64, 64), (32, 96), (80, 48), (70, 100)])
@pytest.mark.parametrize('mode', POS_RESIZE_MODES)
def test_any_input_size_every_pos_resize(size, mode):
    enc = build_encoder('test', pos_resize=mode)
    x = torch.randn(1, 3, *size)
    out = enc(x, layers=(0,))
    g = size[0] // 16, size[1] // 16
    assert out.layers[0].shape == (1, 32, *g) and torch.isfinite(out.pooled).all()
    cropped = enc(x[..., :g[0] * 16, :g[1] * 16], layers=(0,))
    assert torch.equal(cropped.layers[0], out.layers[0])


def test_pos_resize_modes_differ_off_grid_and_agree_on_it():
    enc = build_encoder('test')
    enc.vit.pos_embed.normal_()
    x = torch.randn(1, 3, 96, 80)
    pooled = {}
    for mode in POS_RESIZE_MODES:
        enc.pos_resize = mode
        pooled[mode] = enc(x, layers=()).pooled
        ref = build_encoder('test')
        ref.vit.pos_embed.copy_(enc.vit.pos_embed)
        assert torch.equal(enc(torch.zeros(1, 3, 64, 64), layers=()).pooled,
                           ref(torch.zeros(1, 3, 64, 64), layers=()).pooled)
    vals = list(pooled.values())
    assert all((a - b).abs().max() > 1e-4 for i, a in enumerate(vals) for b in vals[i + 1:])
    with pytest.raises(ValueError, match='unknown pos_resize'):
        enc.pos_resize = 'nearest'


def test_frozen_stays_eval_and_seeded():
    enc = build_encoder('test', seed=3)
    parent = torch.nn.Sequential(enc, torch.nn.Identity()).train()
    assert not enc.training and not any(m.training for m in enc.modules())
    assert enc.weights_sha256 == 'random-init-seed3'
    again = build_encoder('test', seed=3)
    assert all(torch.equal(a, b) for a, b in zip(enc.state_dict().values(), again.state_dict().values()))
    other = build_encoder('test', seed=4)
    assert not torch.equal(enc.vit.pos_embed, other.vit.pos_embed)
    assert parent is not None


def test_pos_cache_follows_new_weights():
    enc = build_encoder('test', pos_resize='bilinear')
    x = torch.randn(1, 3, 96, 80)
    enc(x, layers=())
    other = build_encoder('test', seed=5, pos_resize='bilinear')
    enc.vit.load_state_dict(other.vit.state_dict())
    assert torch.equal(enc(x, layers=()).pooled, other(x, layers=()).pooled)
    enc.pos_resize = 'bicubic'
    other.pos_resize = 'bicubic'
    assert torch.equal(enc(x, layers=()).pooled, other(x, layers=()).pooled)
    assert enc.vit.resized_pos_embed((6, 5)) is enc.vit.resized_pos_embed((6, 5))  # cached per grid
    enc.vit.pos_embed.requires_grad_(True)  # unfrozen on purpose: no cache, gradients reach the table
    enc(x, layers=()).pooled.sum().backward()
    assert enc.vit.pos_embed.grad.abs().sum() > 0


def test_bad_inputs_raise():
    enc = build_encoder('test')
    with pytest.raises(ValueError, match='out of range'):
        enc(torch.randn(1, 3, 64, 64), layers=(4,))
    with pytest.raises(ValueError, match=r'\(N, 3, H, W\)'):
        enc(torch.randn(3, 64, 64))
    with pytest.raises(ValueError, match='smaller than one'):
        enc(torch.randn(1, 3, 8, 64))

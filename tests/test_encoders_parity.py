"""Format parity: random tiny reference models, saved in each published on-disk layout, loaded through
dense.encoders, must reproduce the reference outputs (every block, final normed tokens, MAP-pooled) to 1e-5 fp32.

References: transformers SiglipVisionModel / Siglip2VisionModel (the outputs), big_vision's npz layout (written
here from the HF weights and cross-read by timm's own big_vision reader), timm and open_clip safetensors (written
from the timm model timm's reader produced). Measured max abs diffs (torch 2.14 CPU) are noted per test.
"""
import numpy as np
import pytest
import scipy.ndimage
import torch
from safetensors.torch import save_file
from timm.layers import resample_abs_pos_embed
from timm.models.vision_transformer import VisionTransformer, _load_weights
from transformers import (Siglip2VisionConfig, Siglip2VisionModel, SiglipConfig, SiglipModel, SiglipVisionConfig,
                          SiglipVisionModel)
from transformers.models.siglip.modeling_siglip import SiglipVisionEmbeddings
from transformers.models.siglip2.modeling_siglip2 import Siglip2VisionEmbeddings

from dense.encoders import build_encoder, resize_pos_embed
from dense.encoders.convert import hf_to_timm

TOL = 1e-5
DIMS = dict(hidden_size=32, intermediate_size=64, num_hidden_layers=4, num_attention_heads=2, patch_size=16,
            hidden_act='gelu_pytorch_tanh')


def _perturb(model, seed=0):
    """Random-init reference with every parameter moved off its init (LayerNorms are 1 / 0 at init): vectors by
    0.2, matrices by 0.02 (trained-weight scale, so activations stay in a realistic range for a 1e-5 bound)."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in model.parameters():
            p.add_((0.2 if p.ndim == 1 else 0.02) * torch.randn(p.shape, generator=g))
    return model.eval()


def pixels(*shape, seed=1):
    """Normalized pixels in [-1, 1], as the encoder sees them."""
    return torch.rand(*shape, generator=torch.Generator().manual_seed(seed)) * 2 - 1


def hf_fixed(image_size=64, seed=0):
    torch.manual_seed(seed)
    return _perturb(SiglipVisionModel(SiglipVisionConfig(image_size=image_size, **DIMS)), seed)


def hf_naflex(seed=0):
    torch.manual_seed(seed)
    return _perturb(Siglip2VisionModel(Siglip2VisionConfig(num_patches=256, **DIMS)), seed)


def max_diffs(enc, ref_out, ours, grid):
    """Max abs diff per output: every block (HF hidden_states[i+1]), last_hidden_state and pooler_output."""
    n = ref_out.last_hidden_state.shape[0]
    layers = max((ours.layers[i] - ref_out.hidden_states[i + 1].transpose(1, 2).reshape(n, -1, *grid))
                 .abs().max().item() for i in range(enc.depth))
    return {'layers': layers, 'tokens': (ours.tokens - ref_out.last_hidden_state).abs().max().item(),
            'pooled': (ours.pooled - ref_out.pooler_output).abs().max().item()}


def check_fixed(enc, ref, size, interpolate=False, seed=1):
    x = pixels(2, 3, *size, seed=seed)
    with torch.no_grad():
        r = ref(pixel_values=x, output_hidden_states=True, interpolate_pos_encoding=interpolate)
        d = max_diffs(enc, r, enc(x, layers=range(enc.depth)), (size[0] // 16, size[1] // 16))
    assert max(d.values()) <= TOL, d
    return d


def big_vision_arrays(hf_state, heads, stacked=True):
    """Write HF SiglipVisionModel tensors in big_vision's image-tower layout (flax kernels, '/'-joined keys)."""
    s = {k.removeprefix('vision_model.'): v.numpy() for k, v in hf_state.items()}
    c = s['post_layernorm.weight'].shape[0]

    def attn(prefix, q, k, v, o):
        out = {}
        for name, (w, b) in zip(('query', 'key', 'value'), (q, k, v)):
            out[f'{prefix}{name}/kernel'] = w.T.reshape(c, heads, c // heads)
            out[f'{prefix}{name}/bias'] = b.reshape(heads, c // heads)
        out[f'{prefix}out/kernel'], out[f'{prefix}out/bias'] = o[0].T.reshape(heads, c // heads, c), o[1]
        return out

    def mlp(prefix, src):
        return {f'{prefix}Dense_{j}/{n}': (s[f'{src}.fc{j + 1}.weight'].T if n == 'kernel' else
                                            s[f'{src}.fc{j + 1}.bias']) for j in range(2) for n in ('kernel', 'bias')}

    def ln(prefix, src):
        return {f'{prefix}scale': s[f'{src}.weight'], f'{prefix}bias': s[f'{src}.bias']}

    pw = s['embeddings.patch_embedding.weight']
    w = {'embedding/kernel': pw.transpose(2, 3, 1, 0) if pw.ndim == 4 else pw.T,
         'embedding/bias': s['embeddings.patch_embedding.bias'],
         'pos_embedding': s['embeddings.position_embedding.weight'][None],
         **ln('Transformer/encoder_norm/', 'post_layernorm'), 'MAPHead_0/probe': s['head.probe'],
         **ln('MAPHead_0/LayerNorm_0/', 'head.layernorm'), **mlp('MAPHead_0/MlpBlock_0/', 'head.mlp')}
    iw, ib = s['head.attention.in_proj_weight'], s['head.attention.in_proj_bias']
    w.update(attn('MAPHead_0/MultiHeadDotProductAttention_0/', *[(iw[i * c:(i + 1) * c], ib[i * c:(i + 1) * c])
                                                                 for i in range(3)],
                  (s['head.attention.out_proj.weight'], s['head.attention.out_proj.bias'])))
    blocks = []
    for i in range(len({k.split('.')[2] for k in s if k.startswith('encoder.layers.')})):
        p = f'encoder.layers.{i}.'
        b = {**ln('LayerNorm_0/', p + 'layer_norm1'), **ln('LayerNorm_1/', p + 'layer_norm2'),
             **mlp('MlpBlock_0/', p + 'mlp'),
             **attn('MultiHeadDotProductAttention_0/',
                    *[(s[f'{p}self_attn.{n}_proj.weight'], s[f'{p}self_attn.{n}_proj.bias']) for n in 'qkv'],
                    (s[f'{p}self_attn.out_proj.weight'], s[f'{p}self_attn.out_proj.bias']))}
        blocks.append(b)
    if stacked:
        w.update({f'Transformer/encoderblock/{k}': np.stack([b[k] for b in blocks]) for k in blocks[0]})
    else:
        w.update({f'Transformer/encoderblock_{i}/{k}': v for i, b in enumerate(blocks) for k, v in b.items()})
    return w


def write_full_npz(path, tower):
    """A full image-text big_vision checkpoint: params/img/..., a stand-in text tower, temperature and bias."""
    arrays = {f'params/img/{k}': v for k, v in tower.items()}
    arrays.update({'params/txt/Embed_0/embedding': np.zeros((10, 4), np.float32), 'params/t': np.zeros(1),
                   'params/b': np.zeros(1)})
    np.savez(path, **arrays)
    return path


def timm_from_npz(path, image_size=64):
    """timm's own reader of big_vision checkpoints (independent of ours)."""
    model = VisionTransformer(img_size=image_size, patch_size=16, embed_dim=32, depth=4, num_heads=2, mlp_ratio=2,
                              class_token=False, global_pool='map', num_classes=0, act_layer='gelu_tanh').eval()
    with torch.no_grad():
        _load_weights(model, str(path))
    return model


def test_hf_vision_dir_native_and_bicubic(tmp_path):
    """HF save_pretrained dir, native + HF interpolate_pos_encoding vs 'bicubic' at 96x80 and 32x48.
    Measured max abs diff: layers 0, tokens 0, pooled 6.0e-7."""
    ref = hf_fixed()
    ref.save_pretrained(tmp_path)
    enc = build_encoder('test', weights=str(tmp_path), pos_resize='bicubic')
    check_fixed(enc, ref, (64, 64))
    check_fixed(enc, ref, (96, 80), interpolate=True)
    check_fixed(enc, ref, (32, 48), interpolate=True)
    ref.save_pretrained(tmp_path / 'sharded', max_shard_size='20KB')  # model.safetensors.index.json + shards
    assert (tmp_path / 'sharded' / 'model.safetensors.index.json').exists()
    check_fixed(build_encoder('test', weights=tmp_path / 'sharded'), ref, (64, 64))


def test_hf_full_checkpoint_and_bin(tmp_path):
    """Full SiglipModel (vision_model. prefix, text dropped), as safetensors and as pytorch_model.bin.
    Measured: layers 0, tokens 0, pooled 4.8e-7; the .bin loads bit-identical weights."""
    vc = SiglipVisionConfig(image_size=64, **DIMS)
    tc = dict(hidden_size=32, intermediate_size=64, num_hidden_layers=1, num_attention_heads=2, vocab_size=50,
              bos_token_id=2, eos_token_id=1, pad_token_id=0)
    torch.manual_seed(0)
    full = _perturb(SiglipModel(SiglipConfig(vision_config=vc.to_dict(), text_config=tc)))
    full.save_pretrained(tmp_path / 'st')
    ref = full.vision_model
    enc = build_encoder('test', weights=tmp_path / 'st')
    x = pixels(2, 3, 64, 64)
    with torch.no_grad():
        r = ref(pixel_values=x, output_hidden_states=True)
        assert max(max_diffs(enc, r, enc(x, layers=range(4)), (4, 4)).values()) <= TOL
    (tmp_path / 'bin').mkdir()
    (tmp_path / 'bin' / 'config.json').write_text((tmp_path / 'st' / 'config.json').read_text())
    torch.save(full.state_dict(), tmp_path / 'bin' / 'pytorch_model.bin')
    enc_bin = build_encoder('test', weights=tmp_path / 'bin')
    assert all(torch.equal(a, b) for a, b in zip(enc.state_dict().values(), enc_bin.state_dict().values()))


def test_hf_vision_prefixed_safetensors(tmp_path):
    """transformers-4 style vision-only file (vision_model.-prefixed keys) loaded as a bare .safetensors.
    Measured: layers 0, tokens 0, pooled 3.6e-7."""
    ref = hf_fixed(seed=2)
    save_file({f'vision_model.{k}': v.contiguous() for k, v in ref.state_dict().items()}, tmp_path / 'v.safetensors')
    check_fixed(build_encoder('test', weights=tmp_path / 'v.safetensors'), ref, (64, 64))


@pytest.mark.parametrize('stacked', [True, False])
def test_big_vision_npz_native(tmp_path, stacked):
    """Scan-stacked and unrolled blocks; full (params/img, auto and ':img') and tower-only files.
    Measured: layers 0, tokens 0, pooled 4.8e-7; timm's own reader of the same file also matches HF to 1e-5."""
    ref = hf_fixed(seed=3)
    tower = big_vision_arrays(ref.state_dict(), heads=2, stacked=stacked)
    full = write_full_npz(tmp_path / 'full.npz', tower)
    np.savez(tmp_path / 'tower.npz', **tower)
    for spec in (full, f'{full}:img', tmp_path / 'tower.npz'):
        check_fixed(build_encoder('test', weights=spec), ref, (64, 64))
    timm_model = timm_from_npz(full)
    x = pixels(2, 3, 64, 64)
    with torch.no_grad():
        r = ref(pixel_values=x)
        assert (timm_model.forward_head(timm_model.forward_features(x)) - r.pooler_output).abs().max() <= TOL


def test_big_vision_bilinear_other_resolution(tmp_path):
    """big_vision fixed-res resizing = scipy.ndimage.zoom(order=1) at load time (corner-aligned). Reference: the
    zoomed table put into an HF model built at 96 and 48 px. Measured: layers 1.9e-6, tokens 1.2e-6, pooled
    6.0e-7."""
    ref = hf_fixed(seed=4)
    tower = big_vision_arrays(ref.state_dict(), heads=2)
    np.savez(tmp_path / 'tower.npz', **tower)
    enc = build_encoder('test', weights=tmp_path / 'tower.npz', pos_resize='bilinear')
    for size in (96, 48):
        g = size // 16
        grid = tower['pos_embedding'].reshape(4, 4, -1)
        zoomed = scipy.ndimage.zoom(grid, (g / 4, g / 4, 1), order=1).reshape(g * g, -1)
        big = SiglipVisionModel(SiglipVisionConfig(image_size=size, **DIMS)).eval()
        state = dict(ref.state_dict())
        state['embeddings.position_embedding.weight'] = torch.from_numpy(zoomed)
        big.load_state_dict(state, strict=False)
        check_fixed(enc, big, (size, size))


def test_timm_and_open_clip_safetensors(tmp_path):
    """timm keys and open_clip (visual.trunk. + text tower) files written from timm's reader of the npz.
    Measured (native and bicubic 80x112): layers 0, tokens 0, pooled 4.8e-7."""
    ref = hf_fixed(seed=5)
    np.savez(tmp_path / 'tower.npz', **big_vision_arrays(ref.state_dict(), heads=2))
    timm_state = {k: v.contiguous() for k, v in timm_from_npz(tmp_path / 'tower.npz').state_dict().items()}
    save_file(timm_state, tmp_path / 'model.safetensors')
    oc = {f'visual.trunk.{k}': v for k, v in timm_state.items()}
    oc.update({'text.token_embedding.weight': torch.zeros(10, 4), 'logit_scale': torch.zeros(()),
               'logit_bias': torch.zeros(())})
    save_file(oc, tmp_path / 'open_clip_model.safetensors')
    (tmp_path / 'config.json').write_text('{"architecture": "vit_base_patch16_siglip_224", "num_classes": 0}')
    for f in ('model.safetensors', 'open_clip_model.safetensors', '.'):  # '.': a timm hub-style directory
        enc = build_encoder('test', weights=tmp_path / f)
        check_fixed(enc, ref, (64, 64))
        check_fixed(enc, ref, (80, 112), interpolate=True)


def _naflex_inputs(images, p=16, max_len=None):
    """HF NaFlex inputs: (py, px, c)-ordered patches, padded, with mask and spatial shapes."""
    seqs = [im.reshape(3, im.shape[1] // p, p, im.shape[2] // p, p).permute(1, 3, 2, 4, 0).reshape(-1, 3 * p * p)
            for im in images]
    max_len = max_len or max(len(s) for s in seqs)
    pixel_values = torch.zeros(len(seqs), max_len, 3 * p * p)
    mask = torch.zeros(len(seqs), max_len, dtype=torch.long)
    for i, s in enumerate(seqs):
        pixel_values[i, :len(s)], mask[i, :len(s)] = s, 1
    shapes = torch.tensor([[im.shape[1] // p, im.shape[2] // p] for im in images])
    return pixel_values, mask, shapes


def _check_naflex(enc, ref, sizes):
    images = [pixels(3, h, w, seed=h * w) for h, w in sizes]
    pv, mask, shapes = _naflex_inputs(images)
    with torch.no_grad():
        r = ref(pixel_values=pv, pixel_attention_mask=mask, spatial_shapes=shapes, output_hidden_states=True)
    worst = {}
    for i, im in enumerate(images):
        n, grid = int(mask[i].sum()), tuple(shapes[i].tolist())
        with torch.no_grad():
            ours = enc(im[None], layers=range(enc.depth))
        one = type(r)(last_hidden_state=r.last_hidden_state[i:i + 1, :n], pooler_output=r.pooler_output[i:i + 1],
                      hidden_states=[h[i:i + 1, :n] for h in r.hidden_states])
        for k, v in max_diffs(enc, one, ours, grid).items():
            worst[k] = max(worst.get(k, 0.0), v)
    assert max(worst.values()) <= TOL, worst
    return worst


def test_naflex_hf_dir_non_square(tmp_path):
    """Siglip2VisionModel (model_type siglip2) with a padded batch of non-square images vs our per-image
    'bilinear_antialias'. Measured: layers 4.5e-6, tokens 2.4e-6, pooled 1.3e-6 (fp32 summation order of the
    Linear vs conv patch embedding; exact in fp64, see below)."""
    ref = hf_naflex(seed=6)
    ref.save_pretrained(tmp_path)
    enc = build_encoder('test-naflex', weights=tmp_path)
    assert enc.naflex and enc.pos_resize == 'bilinear_antialias'
    _check_naflex(enc, ref, [(48, 112), (160, 64), (256, 256), (16, 400)])


def test_naflex_big_vision_npz(tmp_path):
    """big_vision NaFlex tower: Dense patch kernel over (py, px, c) patches, 16x16 position grid, ':img'.
    Measured: layers 4.4e-6, tokens 3.2e-6, pooled 1.2e-6."""
    ref = hf_naflex(seed=7)
    tower = big_vision_arrays(ref.state_dict(), heads=2)
    tower['pos_embedding'] = tower['pos_embedding'].reshape(16, 16, -1)
    write_full_npz(tmp_path / 'naflex.npz', tower)
    _check_naflex(build_encoder('test-naflex', weights=f'{tmp_path}/naflex.npz:img'), ref, [(80, 32), (64, 208)])


@pytest.mark.parametrize('size', [(3, 7), (9, 2), (24, 16), (4, 4), (16, 16)])
def test_resize_modes_match_their_references(size):
    """Each mode against its reference resizer on a 16x16 table of 8-dim N(0,1) embeddings, non-square targets.
    Measured max abs diff: bilinear vs scipy zoom <= 3.5e-6 (float32 vs float64 coordinates), the others 0-5e-7."""
    table = torch.randn(1, 16, 16, 8, generator=torch.Generator().manual_seed(0))
    grid = table.permute(0, 3, 1, 2)

    def ours(mode):
        return resize_pos_embed(grid, size, mode).permute(0, 2, 3, 1).reshape(-1, 8)

    hf = SiglipVisionEmbeddings(SiglipVisionConfig(hidden_size=8, image_size=256, patch_size=16))
    hf.position_embedding.weight.data.copy_(table.reshape(256, 8))
    refs = {
        'bilinear': torch.from_numpy(scipy.ndimage.zoom(table[0].numpy(), (size[0] / 16, size[1] / 16, 1), order=1)),
        'bilinear_antialias': Siglip2VisionEmbeddings.resize_positional_embeddings(
            table[0], torch.tensor([size]), size[0] * size[1])[0],
        'bicubic_antialias': resample_abs_pos_embed(table.reshape(1, 256, 8), list(size), (16, 16),
                                                    num_prefix_tokens=0),
        'bicubic': hf.interpolate_pos_encoding(torch.zeros(1, size[0] * size[1], 8), size[0] * 16, size[1] * 16),
    }
    for mode, ref in refs.items():
        torch.testing.assert_close(ours(mode), ref.reshape(-1, 8), rtol=0, atol=TOL, msg=mode)
    if size != (16, 16):
        assert (ours('bilinear') - ours('bilinear_antialias')).abs().max() > 1e-3  # the modes really differ


def test_naflex_patch_embedding_conversion_exact_in_float64():
    """The NaFlex Linear->conv fold is exact: fp64 max abs diff 2e-15 (fp32 differs ~2e-6 by summation order)."""
    ref = hf_naflex(seed=8).double()
    enc = build_encoder('test-naflex')
    enc.vit.load_state_dict(hf_to_timm(ref.state_dict(), 16))
    im = pixels(1, 3, 48, 80).double()
    seq = _naflex_inputs([im[0]])[0].double()
    with torch.no_grad():
        theirs = ref.embeddings.patch_embedding(seq)
        ours = enc.vit.patch_embed.proj.double()(im).flatten(2).transpose(1, 2)
    assert (theirs - ours).abs().max() < 1e-12


@pytest.mark.slow
def test_real_size_b16_224(tmp_path):
    """Random-init HF B/16-224 vision tower (HF init) loaded as siglip2-b16-224, every block compared.
    Measured: layers 0, tokens 0, pooled 9.5e-7; ~4 s on one CPU thread."""
    cfg = SiglipVisionConfig(hidden_size=768, intermediate_size=3072, num_hidden_layers=12, num_attention_heads=12,
                             image_size=224, patch_size=16, hidden_act='gelu_pytorch_tanh')
    torch.manual_seed(0)
    ref = SiglipVisionModel(cfg).eval()
    save_file({k: v.contiguous() for k, v in ref.state_dict().items()}, tmp_path / 'model.safetensors')
    enc = build_encoder('siglip2-b16-224', weights=tmp_path / 'model.safetensors')
    x = pixels(1, 3, 224, 224)
    with torch.no_grad():
        r = ref(pixel_values=x, output_hidden_states=True)
        d = max_diffs(enc, r, enc(x, layers=range(12)), (14, 14))
    assert max(d.values()) <= TOL, d

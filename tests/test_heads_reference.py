"""Probe3D's DPT / Linear and TIPS's DPT decoder: parameter names and shapes from the published layer lists,
output resolution, and Probe3D's DPT forward recomputed independently from its state dict."""
import pytest
import torch
import torch.nn.functional as F

from probes.heads import build_head


def probe3d_dpt_layers(d: int, out: int, hidden: int = 512, k: int = 3) -> dict:
    """mbanani/probe3d evals/models/probes.py: DPT(input_dims=[d] * 4, output_dim, hidden_dim, kernel_size)."""
    shapes = {}
    for i in range(4):
        shapes[f'conv_{i}.weight'], shapes[f'conv_{i}.bias'] = (hidden, d, 1, 1), (hidden,)
        for unit in (['resConfUnit1', 'resConfUnit2'] if i < 3 else ['resConfUnit2']):
            for j in (0, 2):
                shapes[f'ref_{i}.{unit}.conv.{j}.weight'] = (hidden, hidden, k, k)
                shapes[f'ref_{i}.{unit}.conv.{j}.bias'] = (hidden,)
    shapes.update({'out_conv.0.weight': (hidden, hidden, 3, 3), 'out_conv.0.bias': (hidden,),
                   'out_conv.2.weight': (out, hidden, 3, 3), 'out_conv.2.bias': (out,)})
    return shapes


def tips_decoder_layers(d: int, out: int, channels: int = 256, readout: bool = True) -> dict:
    """google-deepmind/tips pytorch/decoders.py: Decoder(out, input_embed_dim=d, channels, post_process_channels
    = (d/8, d/4, d/2, d), readout_type='project')."""
    dims = (d // 8, d // 4, d // 2, d)
    shapes = {}
    for i, r in enumerate(dims):
        shapes[f'dpt.reassemble.out_projections.{i}.weight'] = (r, d, 1, 1)
        shapes[f'dpt.reassemble.out_projections.{i}.bias'] = (r,)
        if readout:
            shapes[f'dpt.reassemble.readout_projects.{i}.weight'] = (d, 2 * d)
            shapes[f'dpt.reassemble.readout_projects.{i}.bias'] = (d,)
        shapes[f'dpt.convs.{i}.weight'] = (channels, r, 3, 3)
        units = ['main_unit'] + (['residual_unit'] if i > 0 else [])
        for unit in units:
            for conv in ('conv1', 'conv2'):
                shapes[f'dpt.fusion_blocks.{i}.{unit}.{conv}.weight'] = (channels, channels, 3, 3)
        shapes[f'dpt.fusion_blocks.{i}.out_conv.weight'] = (channels, channels, 1, 1)
        shapes[f'dpt.fusion_blocks.{i}.out_conv.bias'] = (channels,)
    for i, k in ((0, 4), (1, 2)):
        shapes[f'dpt.reassemble.resize_layers.{i}.weight'] = (dims[i], dims[i], k, k)
        shapes[f'dpt.reassemble.resize_layers.{i}.bias'] = (dims[i],)
    shapes['dpt.reassemble.resize_layers.3.weight'] = (d, d, 3, 3)
    shapes['dpt.reassemble.resize_layers.3.bias'] = (d,)
    shapes.update({'dpt.project.weight': (channels, channels, 3, 3), 'dpt.project.bias': (channels,),
                   'head.weight': (out, channels), 'head.bias': (out,)})
    return shapes


def _random_state(shapes: dict) -> dict:
    return {k: torch.randn(v) for k, v in shapes.items()}


def _on_meta(*args, **kwargs):
    """Build a head without allocating its weights (shapes only; full-size heads in milliseconds)."""
    with torch.device('meta'):
        return build_head(*args, **kwargs)


@pytest.mark.parametrize('dim', [768, 1152])  # B/16 and So400m/14
@pytest.mark.parametrize('out', [256, 4])  # depth bins, uncertainty-aware normals
def test_probe3d_dpt_loads_a_state_dict_of_the_published_layers(dim, out):
    head = _on_meta('probe3d_dpt', [dim] * 4, out, hidden_dim=512, kernel_size=3)
    shapes = probe3d_dpt_layers(dim, out)
    assert {k: tuple(v.shape) for k, v in head.state_dict().items()} == shapes
    head.load_state_dict(_random_state(shapes), strict=True, assign=True)
    if (dim, out) == (768, 256):
        assert sum(p.numel() for p in head.parameters()) == pytest.approx(38.2e6, rel=0.01)


@pytest.mark.parametrize('dim', [768, 1152])
@pytest.mark.parametrize('pooled', [True, False])
def test_tips_decoder_loads_a_state_dict_of_the_published_layers(dim, pooled):
    head = _on_meta('dpt', [dim] * 4, 150, pooled_dim=dim if pooled else 0)
    shapes = tips_decoder_layers(dim, 150, readout=pooled)
    assert {k: tuple(v.shape) for k, v in head.state_dict().items()} == shapes
    head.load_state_dict(_random_state(shapes), strict=True, assign=True)


def test_probe3d_dpt_output_is_at_input_resolution():
    head = build_head('probe3d_dpt', [8] * 4, 3, hidden_dim=4)
    out = head([torch.randn(1, 8, 30, 30) for _ in range(4)])  # B/16 at 480 px: a 30 x 30 grid
    assert out.shape == (1, 3, 480, 480)
    tips = build_head('dpt', [16] * 4, 3, hidden_dim=4)
    assert tips([torch.randn(1, 16, 30, 30) for _ in range(4)]).shape == (1, 3, 240, 240)  # TIPS: 8x


def _up(x, f):
    return F.interpolate(x, scale_factor=f, mode='bilinear', align_corners=True)


def _unit(x, sd, prefix):
    y = F.relu(F.conv2d(x, sd[prefix + '.conv.0.weight'], sd[prefix + '.conv.0.bias'], padding=1))
    return F.relu(F.conv2d(y, sd[prefix + '.conv.2.weight'], sd[prefix + '.conv.2.bias'], padding=1)) + x


def test_probe3d_dpt_forward_equals_probe3d_recomputed_from_the_state_dict():
    torch.manual_seed(0)
    head = build_head('probe3d_dpt', [6] * 4, 5, hidden_dim=8)
    sd = head.state_dict()
    feats = [torch.randn(2, 6, 3, 4) for _ in range(4)]
    x = [_up(F.conv2d(f, sd[f'conv_{i}.weight'], sd[f'conv_{i}.bias']), 2) for i, f in enumerate(feats)]
    out = _unit(x[3], sd, 'ref_3.resConfUnit2')
    for i in (2, 1, 0):
        out = _unit(_unit(x[i], sd, f'ref_{i}.resConfUnit1') + out, sd, f'ref_{i}.resConfUnit2')
    out = _up(out, 4)
    out = F.relu(F.conv2d(out, sd['out_conv.0.weight'], sd['out_conv.0.bias'], padding=1))
    out = _up(F.conv2d(out, sd['out_conv.2.weight'], sd['out_conv.2.bias'], padding=1), 2)
    assert torch.allclose(head(feats), out, atol=1e-5)


def test_probe3d_linear_upsamples_before_its_convolution():
    torch.manual_seed(0)
    head = build_head('probe3d_linear', [6, 6], 5, kernel_size=3)
    feats = [torch.randn(1, 6, 3, 4) for _ in range(2)]
    want = F.conv2d(_up(torch.cat(feats, 1), 4), head.conv.weight, head.conv.bias, padding=1)
    assert head(feats).shape == (1, 5, 12, 16) and torch.allclose(head(feats), want, atol=1e-6)

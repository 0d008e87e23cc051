"""Per-protocol feature settings: final LayerNorm on probed layers, ImageNet normalisation, centre padding."""
import pytest
import torch

from dense.encoders import build_encoder
from probes.train.preprocess import center_pad, encoder_input, feature_settings


@pytest.fixture(scope='module')
def encoder():
    return build_encoder('test')


def test_norm_layers_pass_blocks_through_the_final_layernorm(encoder):
    x = torch.rand(1, 3, 64, 64) * 2 - 1
    last = encoder.depth - 1
    raw, normed = encoder(x, layers=(0, last)), encoder(x, layers=(0, last), norm=True)
    # the last block through the final norm is exactly the final tokens
    assert torch.allclose(normed.layers[last].flatten(2).transpose(1, 2), normed.tokens, atol=1e-6)
    ln = encoder.vit.norm
    want = ln(raw.layers[0].permute(0, 2, 3, 1)).permute(0, 3, 1, 2)
    assert torch.allclose(normed.layers[0], want, atol=1e-6)
    assert not torch.allclose(raw.layers[0], normed.layers[0])


def test_probe3d_centre_padding():
    """Probe3D evals/models/utils.py center_padding: 480 -> 490 (5 + 5), 512 -> 518 (3 + 3) for /14."""
    x = torch.ones(1, 3, 480, 512)
    out = center_pad(x, 14)
    assert out.shape[-2:] == (490, 518)
    assert out[..., 5:485, 3:515].eq(1).all() and out.sum() == x.sum()
    assert center_pad(torch.ones(1, 3, 7, 9), 2).shape[-2:] == (8, 10)
    assert center_pad(x, 16) is x


def test_probe3d_preprocess_is_imagenet_normalisation(encoder):
    x01 = torch.rand(2, 3, 28, 28)
    settings = feature_settings(dict(preprocess='probe3d'))
    got = encoder_input(encoder, x01, settings)
    mean, std = torch.tensor([0.485, 0.456, 0.406]), torch.tensor([0.229, 0.224, 0.225])
    assert torch.allclose(got, (x01 - mean[:, None, None]) / std[:, None, None])
    assert torch.allclose(encoder_input(encoder, x01, feature_settings(None)), x01 * 2 - 1)
    with pytest.raises(ValueError, match='preprocess'):
        feature_settings(dict(preprocess='clip'))
    with pytest.raises(ValueError, match='unknown'):
        feature_settings(dict(norm=True))


def test_probe_model_uses_the_settings(encoder):
    from probes.tasks import build_task
    from probes.train.model import ProbeModel
    from probes.train.spec import ProbeSpec
    spec = ProbeSpec('depth', 'linear', (encoder.depth - 1,), 1e-3)
    x01 = torch.rand(1, 3, 60, 60)
    plain = ProbeModel(encoder, {'depth': build_task('depth')}, [spec])
    probe3d = ProbeModel(encoder, {'depth': build_task('depth')}, [spec],
                         features=dict(norm_layers=True, preprocess='probe3d', center_pad=True))
    feats, _ = probe3d.features(x01)
    padded = center_pad(encoder_input(encoder, x01, probe3d.feature_settings), encoder.patch_size)
    want = encoder(padded, layers=spec.layers, norm=True).layers[spec.layers[0]]
    assert torch.allclose(feats[spec.layers[0]], want, atol=1e-6)
    assert plain.features(x01)[0][spec.layers[0]].shape[-1] == 60 // encoder.patch_size
    assert feats[spec.layers[0]].shape[-1] == -(-60 // encoder.patch_size)

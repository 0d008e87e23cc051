"""PixelEncoder: the Encoder contract, and each channel is the pixel it claims to be."""
import pytest
import torch

from dense.baselines import PixelEncoder


def test_pixel_encoder_contract_and_values():
    enc = PixelEncoder(patch_size=4, image_size=(8, 12))
    x01 = torch.rand(2, 3, 9, 13)  # one trailing row and column do not fill a patch and are dropped
    pixels = enc.normalize(x01)
    torch.testing.assert_close(pixels, x01 * 2 - 1)
    out = enc(pixels, layers=(-1,))
    grid = out.layers[0]
    assert list(out.layers) == [0] and grid.shape == (2, 48, 2, 3) and enc.embed_dim == 48
    for c, r, s, i, j in [(0, 0, 0, 0, 0), (2, 3, 1, 1, 2), (1, 2, 3, 0, 1)]:
        assert grid[1, c * 16 + r * 4 + s, i, j] == pixels[1, c, i * 4 + r, j * 4 + s]
    torch.testing.assert_close(out.tokens, grid.flatten(2).transpose(1, 2))
    torch.testing.assert_close(out.pooled, grid.mean((2, 3)))
    assert (enc.variant, enc.weights_sha256, enc.default_layers, enc.image_size) == ('pixels', 'none', (0,), (8, 12))
    assert not enc.training


def test_pixel_encoder_bad_input():
    enc = PixelEncoder(patch_size=16)
    with pytest.raises(ValueError, match='one layer'):
        enc(torch.zeros(1, 3, 32, 32), layers=(2, 5))
    with pytest.raises(ValueError, match='smaller than one 16x16 patch'):
        enc(torch.zeros(1, 3, 8, 32))
    with pytest.raises(ValueError, match='patch_size'):
        PixelEncoder(patch_size=0)

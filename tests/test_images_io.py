"""Reading images as a user's files come: EXIF orientation, 16-bit / float images, subfolders, unreadable files,
temporaries of killed writes; and pixel tensors outside [0, 1]."""
import json
import os

import numpy as np
import pytest
import torch
from PIL import Image

from dense.cli import main
from dense.extract import FeatureExtractor, load_image
from dense.features_io import load_features
from dense.io import atomic_path, read_image

RNG = np.random.default_rng(0)


def test_exif_orientation_is_applied(tmp_path):
    pixels = RNG.integers(0, 255, (20, 40, 3), dtype=np.uint8)
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 CW to view" (EXIF 2.32, Orientation tag)
    Image.fromarray(pixels).save(tmp_path / 'phone.png', exif=exif)
    assert np.array_equal(read_image(tmp_path / 'phone.png'), np.rot90(pixels, k=-1))


def test_16_bit_and_float_images_are_scaled_not_clipped(tmp_path):
    grey16 = RNG.integers(0, 65536, (12, 16), dtype=np.uint16)
    Image.fromarray(grey16).save(tmp_path / 'g16.png')
    out = read_image(tmp_path / 'g16.png')
    assert out.shape == (12, 16, 3) and np.abs(out[..., 0].astype(float) - grey16 / 257).max() <= 0.5 + 1e-9
    grey_f = RNG.random((12, 16), dtype=np.float32)
    Image.fromarray(grey_f, mode='F').save(tmp_path / 'gf.tif')
    assert np.abs(read_image(tmp_path / 'gf.tif')[..., 1] - grey_f * 255).max() <= 0.5 + 1e-4
    Image.fromarray(grey_f * 1000, mode='F').save(tmp_path / 'gf_big.tif')
    with pytest.raises(ValueError, match=r'gf_big\.tif: float image with values in \[.*only \[0, 1\]'):
        read_image(tmp_path / 'gf_big.tif')
    assert torch.allclose(load_image(np.stack([grey16] * 3, -1))[0], torch.from_numpy(grey16 / 65535.).float())


def test_float_pixels_outside_unit_range_and_nan_are_errors():
    with pytest.raises(ValueError, match=r'pixel values in \[.*255.*divide by 255'):
        load_image(torch.rand(3, 8, 8) * 255)
    from dense.encoders import build_encoder
    fx = FeatureExtractor(build_encoder('test'), progress=False)
    with pytest.raises(ValueError, match='NaN or inf pixel values'):
        fx.forward_batch(torch.full((1, 3, 32, 32), float('nan')))


def _folder(root, names):
    for name in names:
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(RNG.integers(0, 255, (30, 40, 3), dtype=np.uint8)).save(root / name)


def test_recursive_skip_bad_and_stale_temporaries(tmp_path, capsys):
    _folder(tmp_path / 'in', ['a.png', 'sub/b.png', 'sub/deeper/c.jpg'])
    (tmp_path / 'in' / 'sub' / 'bad.png').write_bytes(b'not an image')
    out = tmp_path / 'feats'
    out.mkdir()
    stale = out / '.a.safetensors.999999999.x1.tmp'  # left by a killed writer (no such process)
    stale.write_bytes(b'\0' * 100)
    assert main(['extract', str(tmp_path / 'in'), str(out), '--encoder', 'test', '--per-image', '--recursive',
                 '--skip-bad', '--image-size', '32']) == 0
    assert not stale.exists()
    written = sorted(p.relative_to(out).as_posix() for p in out.rglob('*.safetensors'))
    assert written == ['a.safetensors', 'sub/b.safetensors', 'sub/deeper/c.safetensors']
    report = json.loads((out / 'skipped.json').read_text())
    assert [r['image'] for r in report] == [str(tmp_path / 'in' / 'sub' / 'bad.png')]
    assert 'skipped 1 unreadable image(s)' in capsys.readouterr().err
    # one file for all: the bad image is left out of the stored image_paths, the rest keep their order
    assert main(['extract', str(tmp_path / 'in'), str(tmp_path / 'all.safetensors'), '--encoder', 'test',
                 '--recursive', '--skip-bad']) == 0
    features, _ = load_features(tmp_path / 'all.safetensors')
    assert [os.path.basename(p) for p in features.image_paths] == ['a.png', 'b.png', 'c.jpg']
    assert next(iter(features.layers.values())).shape[0] == 3


def test_atomic_path_keeps_temporaries_of_live_writers(tmp_path):
    live = tmp_path / f'.out.bin.{os.getppid()}.x.tmp'  # the parent process runs: maybe still writing
    live.write_bytes(b'partial')
    with atomic_path(tmp_path / 'out.bin') as tmp:
        tmp.write_bytes(b'done')
    assert live.exists() and (tmp_path / 'out.bin').read_bytes() == b'done'

"""Feature extractor: input kinds, sizes, layers, sliding window, NaFlex sizing, feature files."""
import numpy as np
import pytest
import torch
from PIL import Image

from dense.encoders import build_encoder
from dense.extract import FeatureExtractor, load_image, window_origins
from dense.features_io import load_features, save_features


@pytest.fixture(scope='module')
def encoder():
    return build_encoder('test')


def test_input_kinds_give_identical_features(encoder, tmp_path):
    rng = np.random.default_rng(0)
    array = rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)
    Image.fromarray(array).save(tmp_path / 'a.png')
    fx = FeatureExtractor(encoder, layers=[-1], progress=False)
    outs = [fx([tmp_path / 'a.png']), fx([Image.fromarray(array)]), fx([array]),
            fx(torch.from_numpy(array).permute(2, 0, 1)[None])]
    last = encoder.depth - 1
    for out in outs[1:]:
        assert torch.equal(out.layers[last], outs[0].layers[last])
    grid = 64 // encoder.patch_size
    assert outs[0].layers[last].shape == (1, encoder.embed_dim, grid, grid)
    assert outs[0].pooled.shape == (1, encoder.embed_dim)
    assert outs[0].image_paths == [str(tmp_path / 'a.png')]


def test_extractor_equals_encoder_forward_and_batches_do_not_mix(encoder):
    x = torch.rand(5, 3, 64, 64)
    fx = FeatureExtractor(encoder, batch_size=2, progress=False)
    feats = fx(x)
    ref = encoder(encoder.normalize(x), layers=encoder.default_layers)
    assert tuple(feats.layers) == tuple(sorted(ref.layers))
    for i in ref.layers:
        assert (feats.layers[i] - ref.layers[i]).abs().max() < 1e-5
    assert (feats.pooled - ref.pooled).abs().max() < 1e-5


def test_negative_layers_and_out_of_range(encoder):
    fx = FeatureExtractor(encoder, layers=[-1, 0], progress=False)
    assert fx.layers == (0, encoder.depth - 1)
    with pytest.raises(ValueError, match='out of range'):
        FeatureExtractor(encoder, layers=[encoder.depth])


def test_other_input_size_resizes_and_changes_grid(encoder):
    fx = FeatureExtractor(encoder, image_size=(96, 128), layers=[-1], progress=False)
    feats = fx(torch.rand(2, 3, 50, 70))
    p = encoder.patch_size
    assert feats.layers[encoder.depth - 1].shape[-2:] == (96 // p, 128 // p)
    assert feats.image_size == (96, 128)


def test_window_origins_cover_every_patch():
    origins = window_origins((160, 224), (64, 64), 0.5, 16)
    covered = np.zeros((10, 14), bool)
    for top, left in origins:
        assert top % 16 == 0 and left % 16 == 0 and top + 64 <= 160 and left + 64 <= 224
        covered[top // 16:top // 16 + 4, left // 16:left // 16 + 4] = True
    assert covered.all()


def test_sliding_window_equals_plain_forward_when_one_window(encoder):
    x = torch.rand(1, 3, 64, 64)
    plain = FeatureExtractor(encoder, layers=[-1], progress=False)(x)
    slid = FeatureExtractor(encoder, layers=[-1], window=True, progress=False)(x)
    last = encoder.depth - 1
    assert torch.allclose(plain.layers[last], slid.layers[last], atol=1e-6)


def test_sliding_window_averages_overlapping_windows(encoder):
    x = torch.rand(1, 3, 64, 96)
    fx = FeatureExtractor(encoder, image_size=(64, 96), layers=[-1], window=True, window_overlap=0.5,
                          progress=False)
    feats = fx(x)
    last, p = encoder.depth - 1, encoder.patch_size
    assert feats.layers[last].shape[-2:] == (64 // p, 96 // p)
    # windows start at x = 0 and 32 px (stride 32, overlap 0.5): columns 2-3 are averaged over both
    norm = encoder.normalize(x)
    left = encoder(norm[..., :64], layers=[last]).layers[last]
    right = encoder(norm[..., 32:], layers=[last]).layers[last]
    assert torch.allclose(feats.layers[last][..., :2], left[..., :2], atol=1e-5)
    assert torch.allclose(feats.layers[last][..., 4:], right[..., 2:], atol=1e-5)
    assert torch.allclose(feats.layers[last][..., 2:4], (left[..., 2:] + right[..., :2]) / 2, atol=1e-5)


def test_iter_images_keeps_each_size_with_window(encoder):
    images = [torch.rand(3, 64, 80), torch.rand(3, 100, 64)]
    fx = FeatureExtractor(encoder, layers=[-1], window=True, progress=False)
    sizes = [f.image_size for f in fx.iter_images(images)]
    assert sizes == [(64, 80), (96, 64)]


def test_feature_file_round_trip(encoder, tmp_path):
    feats = FeatureExtractor(encoder, progress=False)(torch.rand(2, 3, 64, 64))
    path = save_features(tmp_path / 'f.safetensors', feats, encoder='test')
    back, meta = load_features(path)
    assert meta['encoder'] == 'test' and back.image_size == feats.image_size
    for i in feats.layers:
        assert torch.equal(back.layers[i], feats.layers[i])
    assert not [p for p in tmp_path.iterdir() if p.name.endswith('.tmp')]


def test_bad_inputs_name_the_problem(tmp_path):
    bad = tmp_path / 'broken.png'
    bad.write_bytes(b'not a png')
    with pytest.raises(ValueError, match='broken.png'):
        load_image(bad)
    with pytest.raises(ValueError, match='not a readable feature file'):
        load_features(bad)


def test_extract_command_writes_folder_features(tmp_path, capsys):
    from dense.cli import main
    folder = tmp_path / 'imgs'
    folder.mkdir()
    rng = np.random.default_rng(1)
    for k in range(3):
        Image.fromarray(rng.integers(0, 256, (40 + 8 * k, 72, 3), dtype=np.uint8)).save(folder / f'{k}.jpg')
    assert main(['extract', str(folder), str(tmp_path / 'out.safetensors'), '--encoder', 'test',
                 '--layers', '1', '-1']) == 0
    feats, meta = load_features(tmp_path / 'out.safetensors')
    assert sorted(feats.layers) == [1, 3] and feats.pooled.shape[0] == 3
    assert [p.rsplit('/', 1)[-1] for p in feats.image_paths] == ['0.jpg', '1.jpg', '2.jpg']
    assert main(['extract', str(folder), str(tmp_path / 'per'), '--encoder', 'test', '--per-image',
                 '--window']) == 0
    assert sorted(p.name for p in (tmp_path / 'per').iterdir()) == ['0.safetensors', '1.safetensors',
                                                                    '2.safetensors']
    with pytest.raises(SystemExit) as exit_info:
        main(['extract', str(tmp_path / 'per'), str(tmp_path / 'x.safetensors'), '--encoder', 'test'])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()[-1]  # earlier lines: the progress bars above
    assert err.startswith('sprobe extract: error:') and 'per: no images' in err


def test_naflex_keeps_aspect_ratio_under_the_patch_budget():
    from dense.encoders import naflex_size
    encoder = build_encoder('test-naflex')
    fx = FeatureExtractor(encoder, layers=[-1], max_num_patches=64, progress=False)
    images = [torch.rand(3, 90, 200), torch.rand(3, 300, 120)]
    out = list(fx.iter_images(images))
    p, last = encoder.patch_size, encoder.depth - 1
    for feats, image in zip(out, images):
        height, width = naflex_size(*image.shape[-2:], patch=p, max_num_patches=64)
        assert feats.image_size == (height, width)
        h, w = feats.layers[last].shape[-2:]
        assert (h, w) == (height // p, width // p) and h * w <= 64
    assert out[0].layers[last].shape[-1] > out[0].layers[last].shape[-2]  # wide stays wide
    assert out[1].layers[last].shape[-2] > out[1].layers[last].shape[-1]  # tall stays tall


def test_atomic_writes_get_the_usual_file_mode(tmp_path):
    import os
    from dense.io import write_json
    path = write_json(tmp_path / 'x.json', {'a': 1})
    mask = os.umask(0)
    os.umask(mask)
    assert path.stat().st_mode & 0o777 == 0o666 & ~mask


def _folder(root, names, size=(40, 72)):
    root.mkdir()
    rng = np.random.default_rng(2)
    for name in names:
        Image.fromarray(rng.integers(0, 256, (*size, 3), dtype=np.uint8)).save(root / name)
    return root


@pytest.mark.parametrize('extra,message', [
    (['--per-image'], 'same name, same output'),                       # x.png and x.jpg
    (['--window'], 'give --image-size H W'),
    (['--image-size', '0'], 'positive'),
    (['--batch-size', '0'], 'must be positive'),
])
def test_extract_command_refuses_bad_requests_before_writing(tmp_path, capsys, extra, message):
    from dense.cli import main
    folder = _folder(tmp_path / 'imgs', ['x.png', 'x.jpg'])
    with pytest.raises(SystemExit) as exit_info:
        main(['extract', str(folder), str(tmp_path / 'out'), '--encoder', 'test', *extra])
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err.strip().splitlines()[-1]
    assert not (tmp_path / 'out').exists()


def test_extract_command_output_kinds_must_match(tmp_path, capsys):
    from dense.cli import main
    folder = _folder(tmp_path / 'imgs', ['a.png'])
    (tmp_path / 'file.safetensors').write_bytes(b'')
    for args, message in (([str(tmp_path)], 'is a folder'),
                          ([str(tmp_path / 'file.safetensors'), '--per-image'], 'is not a folder'),
                          ([str(tmp_path / 'n.safetensors'), '--encoder', 'test-naflex'], 'aspect ratio')):
        encoder = [] if '--encoder' in args else ['--encoder', 'test']
        with pytest.raises(SystemExit):
            main(['extract', str(folder), *args, *encoder])
        assert message in capsys.readouterr().err

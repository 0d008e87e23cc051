"""``sprobe viz``: figures and viewer from a feature file (the extractor's layout) or an encoder."""
import argparse
import json
import numpy as np
import pytest
import torch
from PIL import Image
from safetensors.numpy import save_file

from visualize import cli
from visualize._synthetic import synthetic_batch
from dense.features_io import load_features


def _parse(argv):
    parser = argparse.ArgumentParser()
    cli.add_arguments(parser)
    return parser.parse_args(argv)


@pytest.fixture()
def feature_file(tmp_path):
    images, feats, _ = synthetic_batch(n=2, size=(64, 96), patch=8, channels=16, layers=(1, 3))
    paths = []
    for i, image in enumerate(images):
        paths.append(str(tmp_path / f'img{i}.png'))
        Image.fromarray(image).save(paths[-1])
    tensors = {f'layer_{k}': v for k, v in feats.items()}
    tensors['pooled'] = np.zeros((2, 16), np.float32)
    path = tmp_path / 'feats.safetensors'
    save_file(tensors, str(path), metadata={'image_paths': json.dumps(paths), 'image_size': json.dumps([64, 96])})
    return path, paths


def test_cli_from_feature_file(feature_file, tmp_path, capsys):
    path, _ = feature_file
    out = tmp_path / 'run'
    argv = ['--features', str(path), '--out', str(out), '--pixel', '50', '30', '--pdf', '--query-image', '1']
    assert cli.run(_parse(argv + ['--max-rows', '1'])) == 0
    assert len(json.loads(capsys.readouterr().out)) == 7
    small = Image.open(out / 'figures' / 'similarity.png').size
    assert cli.run(_parse(argv)) == 0
    written = json.loads(capsys.readouterr().out)
    names = sorted(p.split('/')[-1] for p in written)
    assert names == ['pca_layer1.pdf', 'pca_layer1.png', 'pca_layer3.pdf', 'pca_layer3.png',
                     'similarity.pdf', 'similarity.png', 'viewer.html']
    assert all((out / 'figures' / n).stat().st_size > 1000 for n in names)
    full = Image.open(out / 'figures' / 'similarity.png').size
    assert full[1] > 1.7 * small[1]  # two image rows instead of one
    html = (out / 'figures' / 'viewer.html').read_text()
    assert '"name":"img0.png"' in html and 'http' not in html.replace('http-equiv', '')


def test_cli_bad_inputs(feature_file, tmp_path):
    path, _ = feature_file
    with pytest.raises(ValueError, match=r'layer\(s\) \[7\] were not extracted; available layers: \[1, 3\]'):
        cli.run(_parse(['--features', str(path), '--out', str(tmp_path), '--layers', '7']))
    with pytest.raises(ValueError, match='outside the image of size 96x64'):
        cli.run(_parse(['--features', str(path), '--out', str(tmp_path), '--pixel', '96', '0']))
    with pytest.raises(ValueError, match='has 2 images but images has 1'):
        cli.run(_parse(['--features', str(path), '--out', str(tmp_path), '--images', feature_file[1][0]]))
    with pytest.raises(ValueError, match='missing.png: cannot read image'):
        cli.run(_parse(['--features', str(path), '--out', str(tmp_path), '--images', 'missing.png', 'x.png']))
    (tmp_path / 'junk.safetensors').write_bytes(b'junk')
    with pytest.raises(ValueError, match='junk.safetensors: not a readable feature file'):
        cli.run(_parse(['--features', str(tmp_path / 'junk.safetensors'), '--out', str(tmp_path)]))
    assert not (tmp_path / 'figures').exists()


def test_cli_with_the_test_encoder_and_its_feature_file(feature_file, tmp_path, capsys):
    """End to end with the real extractor: `--encoder test --images`, and a file from save_features."""
    from dense.encoders import build_encoder
    from dense.extract import FeatureExtractor
    from dense.features_io import save_features
    _, paths = feature_file
    args = _parse(['--encoder', 'test', '--images', *paths, '--image-size', '48', '64', '--layers', '1', '3',
                   '--out', str(tmp_path / 'enc'), '--only', 'similarity', 'viewer'])
    assert cli.run(args) == 0
    assert sorted(p.name for p in (tmp_path / 'enc' / 'figures').iterdir()) == ['similarity.png', 'viewer.html']
    feats = FeatureExtractor(build_encoder('test'), layers=(1, 3), image_size=(48, 64))(paths)
    save_features(tmp_path / 'f.safetensors', feats)
    loaded, meta = load_features(tmp_path / 'f.safetensors')
    layers = {k: v.numpy() for k, v in loaded.layers.items()}
    assert meta['image_paths'] == paths and meta['image_size'] == [48, 64]
    for k in (1, 3):
        np.testing.assert_array_equal(layers[k], feats.layers[k].numpy())
    capsys.readouterr()
    assert cli.run(_parse(['--features', str(tmp_path / 'f.safetensors'), '--out', str(tmp_path / 'file'),
                           '--patch', '2', '3'])) == 0
    assert len(json.loads(capsys.readouterr().out)) == 4  # similarity, PCA x 2, viewer


def test_prediction_figures_in_batch_layout(tmp_path):
    from visualize.pipeline import make_prediction_figures
    images, _, labels = synthetic_batch(n=2, size=(48, 64))
    normals = torch.zeros(2, 3, 48, 64)
    normals[:, 2] = -1
    preds = {'seg': torch.from_numpy(labels).long(), 'depth': torch.rand(2, 48, 64) + 1, 'normals': normals}
    written = make_prediction_figures(tmp_path, images, preds, truths=preds, class_names=['bg', 'a', 'b', 'c'],
                                      max_images=1)
    assert sorted(p.name for p in written) == ['depth_0.png', 'normals_0.png', 'seg_0.png']
    assert all(p.stat().st_size > 1000 for p in written)
    with pytest.raises(ValueError, match=r"unknown task\(s\) \['boxes'\]"):
        make_prediction_figures(tmp_path, images, {'boxes': None})


def test_run_figures_curves_and_comparison(tmp_path):
    from visualize.pipeline import make_run_figures
    runs = []
    for enc, miou in [('siglip2-b16-224', 40.0), ('siglip2-b16-384', 44.0)]:
        vis = tmp_path / enc / '20260101_000000' / 'vis_data'
        vis.mkdir(parents=True)
        (vis / 'scalars.json').write_text('\n'.join(json.dumps({'loss': 1 / s, 'lr': 0.1, 'step': s})
                                                    for s in range(1, 6)))
        (tmp_path / enc / 'metrics.json').write_text(json.dumps({'encoder': enc, 'metrics': {'mIoU': miou}}))
        runs.append(tmp_path / enc)
    written = make_run_figures(runs[0], compare=runs[1:])
    assert [p.name for p in written] == ['training_curves.png', 'comparison.png']


def test_feature_figures_from_the_test_encoder(tmp_path):
    """Features straight from the encoder contract (EncoderOutput.layers) feed every feature figure."""
    from dense.encoders import build_encoder
    from visualize.pipeline import make_feature_figures
    from visualize.similarity import patch_similarity
    enc = build_encoder('test')
    images, _, _ = synthetic_batch(n=2, size=enc.image_size)
    x = torch.from_numpy(images).permute(0, 3, 1, 2).float() / 255
    with torch.no_grad():
        layers = enc(enc.normalize(x), layers=enc.default_layers).layers
    res = patch_similarity(layers, 1, pixel=(40, 20), image_size=enc.image_size)
    for layer, maps in res.maps.items():
        assert res.patch[layer] == (20 // enc.patch_size, 40 // enc.patch_size)
        assert np.unravel_index(maps[1].argmax(), maps[1].shape) == res.patch[layer]
    written = make_feature_figures(images, layers, tmp_path, pixel=(40, 20), query_image=1)
    assert len(written) == 2 + len(enc.default_layers)

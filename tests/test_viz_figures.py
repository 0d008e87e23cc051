"""Static figures: similarity maps, PCA maps, task overlays, curves and bars (synthetic features, no encoder)."""
import json

import numpy as np
import pytest
import torch
from PIL import Image

from visualize._common import save_figure
from visualize._synthetic import synthetic_batch
from visualize.boxes import box_iou, draw_boxes, draw_referring
from visualize.curves import draw_bars, draw_curves, load_results, load_scalars
from visualize.overlays import (angular_error_deg, colorize_segmentation, default_palette, draw_depth,
                                draw_normals, draw_segmentation, normals_to_rgb)
from visualize.pca import draw_pca, fit_components, pca_map
from visualize.similarity import draw_similarity, overlay_heatmap, patch_similarity, query_patch

NAMES = ['background', 'disc', 'square', 'triangle']


@pytest.fixture(scope='module')
def batch():
    return synthetic_batch(n=3, size=(96, 128), patch=8, channels=32, layers=(2, 5))


def _png(path):
    """Load a written PNG, checking it is a real non-blank image."""
    arr = np.asarray(Image.open(path).convert('RGB'))
    assert arr.shape[0] > 50 and arr.shape[1] > 50 and arr.std() > 5
    return arr


def test_similarity_max_at_query_and_matches_independent_cosine(batch, tmp_path):
    images, feats, labels = batch
    res = patch_similarity({k: torch.from_numpy(v) for k, v in feats.items()}, image_index=1,
                           pixel=(45, 70), image_size=(96, 128))
    assert res.patch == {2: (70 // 8, 45 // 8), 5: (70 // 8, 45 // 8)}
    for layer, maps in res.maps.items():
        row, col = res.patch[layer]
        assert maps.shape == (3, 12, 16)
        assert np.unravel_index(maps[1].argmax(), maps[1].shape) == (row, col)
        assert maps[1, row, col] == pytest.approx(1.0, abs=1e-5)
        q = torch.from_numpy(feats[layer][1, :, row, col])
        ref = torch.nn.functional.cosine_similarity(torch.from_numpy(feats[layer]), q[None, :, None, None], dim=1)
        np.testing.assert_allclose(maps, ref.numpy(), atol=1e-5)
    # a patch query gives the same map; cross-image: the query's shape (the disc) lights up in images 0, 2
    same = patch_similarity(feats, 1, patch=res.patch[5], layers=[5])
    np.testing.assert_array_equal(same.maps[5], res.maps[5])
    small = labels[:, 4::8, 4::8]
    assert small[1][res.patch[5]] == 1
    for i in (0, 2):
        assert res.maps[5][i][small[i] == 1].mean() > res.maps[5][i][small[i] != 1].mean() + 0.3
    fig = draw_similarity(images, res)
    written = save_figure(fig, tmp_path / 'sim', pdf=True)
    assert [p.suffix for p in written] == ['.png', '.pdf'] and written[1].stat().st_size > 1000
    _png(written[0])
    assert [ax.get_title() for ax in fig.axes[:2]] == ['layer 2', 'layer 5']
    assert not list(tmp_path.glob('.*'))  # no temp files left behind


def test_overlay_keeps_image_size(batch):
    images, feats, _ = batch
    out = overlay_heatmap(images[0], np.random.rand(12, 16))
    assert out.shape == images[0].shape and out.dtype == np.uint8


@pytest.mark.parametrize('kwargs, message', [
    (dict(pixel=(128, 5), image_size=(96, 128)), 'outside the image'),
    (dict(pixel=(-1, 5), image_size=(96, 128)), 'outside the image'),
    (dict(patch=(12, 0)), 'outside the 12x16 patch grid'),
    (dict(patch=(0, 0), layers=[7]), r'layer\(s\) \[7\] were not extracted'),
    (dict(), 'exactly one of'),
])
def test_similarity_bad_query(batch, kwargs, message):
    with pytest.raises(ValueError, match=message):
        patch_similarity(batch[1], 0, **kwargs)


def test_mismatched_features_and_images(batch):
    images, feats, _ = batch
    res = patch_similarity(feats, 0, patch=(1, 1))
    with pytest.raises(ValueError, match='has 3 images but images has 2'):
        draw_similarity(images[:2], res)
    with pytest.raises(ValueError, match='grid 12x16 is larger than the images 8x8'):
        draw_similarity(images[:, :8, :8], res)
    with pytest.raises(ValueError, match='expected dtype uint8'):
        draw_similarity(images.astype(np.float32), res)
    with pytest.raises(ValueError, match='query image index 5'):
        patch_similarity(feats, 5, patch=(0, 0))
    assert query_patch((12, 16), (96, 128), pixel=(127, 95)) == (11, 15)


def test_pca_deterministic_sign_fixed_and_joint(batch, tmp_path):
    images, feats, labels = batch
    a = pca_map(feats[5])
    b = pca_map(feats[5].copy())
    np.testing.assert_array_equal(a.rgb, b.rgb)
    assert a.rgb.shape == (3, 12, 16, 3) and 0 <= a.rgb.min() and a.rgb.max() <= 1
    # reordering the images flips some SVD component signs (LAPACK); the sign rule gives the same picture
    reordered = pca_map(np.ascontiguousarray(feats[5][::-1]))
    np.testing.assert_allclose(reordered.rgb[::-1], a.rgb, atol=1e-4)
    x = feats[5].transpose(0, 2, 3, 1).reshape(-1, 32)
    mean, comps, _ = fit_components(x)
    scores = (x - mean) @ comps.T
    assert ((scores ** 3).mean(0) > 0).all()  # the documented rule: non-negative skew
    # joint fit: the same shape gets the same colour in every image
    small = labels[:, 4::8, 4::8]
    disc = a.rgb[small == 1]
    assert np.linalg.norm(disc - disc.mean(0), axis=1).mean() < 0.5 * np.linalg.norm(
        a.rgb[small == 0].mean(0) - disc.mean(0))
    assert a.explained[0] >= a.explained[1] >= a.explained[2] > 0
    _png(save_figure(draw_pca(images, a, layer=5), tmp_path / 'pca')[0])


def test_pca_foreground_threshold(batch, tmp_path):
    images, feats, labels = batch
    res = pca_map(feats[5], foreground=True, fg_threshold=0.0)
    small = labels[:, 4::8, 4::8]
    agree = (res.mask == (small > 0)).mean()
    assert agree > 0.9, agree  # PC1 splits shapes from background on these features
    assert (res.rgb[~res.mask] == 0).all()
    stricter = pca_map(feats[5], foreground=True, fg_threshold=1.5)
    assert stricter.mask.sum() < res.mask.sum() and stricter.threshold == 1.5
    _png(save_figure(draw_pca(images, res, layer=5), tmp_path / 'pca_fg')[0])


def test_segmentation_overlay_and_legend(batch, tmp_path):
    images, _, labels = batch
    pal = default_palette(len(NAMES))
    pred = labels[0].copy()
    pred[:4] = 255
    col = colorize_segmentation(pred, pal, images[0])
    assert col.shape == images[0].shape
    np.testing.assert_array_equal(col[:4], images[0][:4])  # ignore pixels keep the image
    np.testing.assert_array_equal(colorize_segmentation(pred, pal)[labels[0] == 2][0], pal[2])
    fig = draw_segmentation(images[0], pred, NAMES, truth=labels[0])
    assert [t.get_text() for t in fig.legends[0].get_texts()] == NAMES
    assert fig.axes[1].images[0].get_array().shape == images[0].shape
    _png(save_figure(fig, tmp_path / 'seg')[0])
    with pytest.raises(ValueError, match='does not match the image'):
        draw_segmentation(images[0], pred[:10], NAMES)
    with pytest.raises(ValueError, match='outside the 4 classes'):
        colorize_segmentation(np.full((4, 4), 9), pal)


def test_depth_figure(batch, tmp_path):
    images, _, labels = batch
    truth = (2 + labels[0]).astype(np.float32)
    truth[:5] = 0
    pred = truth + 0.1
    fig = draw_depth(images[0], pred, truth)
    assert [ax.get_title() for ax in fig.axes[:4]] == ['image', 'prediction', 'ground truth', 'absolute error']
    labels_ = [cax.get_xlabel() for ax in fig.axes[1:4] for cax in ax.child_axes]
    assert labels_ == ['depth (m)', 'depth (m)', 'error (m)']
    err_panel = fig.axes[3].images[0].get_array()
    assert err_panel.shape == images[0].shape and (err_panel[:5] == 255).all()  # invalid shown white
    _png(save_figure(fig, tmp_path / 'depth')[0])


def test_normals_encoding_and_angular_error(batch, tmp_path):
    images, _, _ = batch
    n = np.zeros((96, 128, 3), np.float32)
    n[..., 2] = -1
    rgb = normals_to_rgb(n)
    assert rgb.shape == (96, 128, 3) and tuple(rgb[0, 0]) == (128, 128, 0)
    tilted = n.copy()
    tilted[..., 0], tilted[..., 2] = np.sin(np.radians(30)), -np.cos(np.radians(30))
    np.testing.assert_allclose(angular_error_deg(tilted, n), 30.0, atol=1e-3)
    n[:3] = 0
    fig = draw_normals(images[0], tilted, n)
    assert fig.axes[3].get_title() == 'angular error (mean 30.0°)'
    _png(save_figure(fig, tmp_path / 'normals')[0])


def test_boxes_and_referring(batch, tmp_path):
    images, _, _ = batch
    fig = draw_boxes(images[0], [[10, 20, 60, 70], [70, 10, 110, 50]], [1, 2], NAMES, scores=[0.9, 0.3],
                     score_threshold=0.5)
    assert [t.get_text() for t in fig.axes[0].texts] == ['disc 0.90']
    assert fig.axes[0].images[0].get_array().shape == images[0].shape
    _png(save_figure(fig, tmp_path / 'boxes')[0])
    assert box_iou([0, 0, 10, 10], [5, 0, 15, 10]) == pytest.approx(1 / 3)
    fig = draw_referring(images[0], 'the yellow disc on the left', [10, 20, 60, 70], [5, 20, 60, 70])
    assert fig.axes[0].get_title() == '“the yellow disc on the left”\nIoU 0.91'
    _png(save_figure(fig, tmp_path / 'ref')[0])
    with pytest.raises(ValueError, match='x0 <= x1'):
        draw_referring(images[0], 'x', [60, 20, 10, 70])
    with pytest.raises(ValueError, match='2 boxes but 1 labels'):
        draw_boxes(images[0], [[0, 0, 1, 1], [0, 0, 2, 2]], [1], NAMES)


def test_training_curves_from_mmengine_and_list_logs(tmp_path):
    vis = tmp_path / 'run' / '20260101_000000' / 'vis_data'
    vis.mkdir(parents=True)
    lines = [{'lr': 0.01, 'loss': 2.0 / it, 'loss_seg/a': 1.0 / it, 'loss_seg/b': 1.0 / it, 'iter': it, 'step': it,
              'epoch': 1} for it in (10, 20, 30)]
    lines.insert(2, {'seg/a/mIoU': 12.5, 'seg/b/mIoU': 10.0, 'step': 20})
    lines.append({'seg/a/mIoU': 15.0, 'seg/b/mIoU': 11.0, 'seg/a/aAcc': 70.0, 'step': 30})
    (vis / 'scalars.json').write_text('\n'.join(json.dumps(r) for r in lines) + '\n')
    records = load_scalars(tmp_path / 'run')
    assert records == lines
    (tmp_path / 'log.json').write_text(json.dumps([{'iter': 1, 'loss': 1.0}, {'iter': 2, 'loss': 0.5}]))
    assert len(load_scalars(tmp_path / 'log.json')) == 2
    fig = draw_curves(records)
    # aAcc has one point (left to the results table); the mIoU of both probes share a panel
    assert [ax.get_title() for ax in fig.axes if ax.get_visible()] == ['loss', 'loss per probe', 'lr', 'mIoU']
    assert [t.get_text() for t in fig.axes[1].get_legend().get_texts()] == ['seg/a', 'seg/b']
    np.testing.assert_array_equal(fig.axes[3].lines[0].get_xdata(), [20, 30])
    assert [t.get_text() for t in fig.axes[3].get_legend().get_texts()] == ['seg/a', 'seg/b']
    _png(save_figure(fig, tmp_path / 'curves')[0])
    (tmp_path / 'bad.json').write_text('{"a": 1}\nnot json\n')
    with pytest.raises(ValueError, match='bad.json:2: not JSON'):
        load_scalars(tmp_path / 'bad.json')
    with pytest.raises(ValueError, match="key\\(s\\) \\['acc'\\] not found"):
        draw_curves(records, keys=['acc'])


def test_bar_chart_from_results(tmp_path):
    paths = []
    for enc, miou in [('siglip2-b16-224', 40.0), ('siglip2-b16-384', 44.0)]:
        d = tmp_path / enc
        d.mkdir()
        (d / 'metrics.json').write_text(json.dumps({'encoder': enc, 'config': {'layers': [11]},
                                                    'metrics': {'mIoU': miou, 'aAcc': 80.0}}))
        paths.append(d)
    results = load_results(paths)
    fig = draw_bars(results, ['mIoU', 'aAcc'])
    heights = [p.get_height() for p in fig.axes[0].patches]
    assert heights == [40.0, 80.0, 44.0, 80.0]
    assert [t.get_text() for t in fig.axes[0].get_legend().get_texts()] == ['siglip2-b16-224', 'siglip2-b16-384']
    _png(save_figure(fig, tmp_path / 'bars')[0])
    assert draw_bars(results, 'mIoU', label='config.layers').axes[0].get_legend().get_title().get_text() \
        == 'config.layers'
    with pytest.raises(ValueError, match="metric 'PQ' missing"):
        draw_bars(results, 'PQ')
    (tmp_path / 'x.json').write_text('{"encoder": "a"}')
    with pytest.raises(ValueError, match='x.json: expected'):
        load_results([tmp_path / 'x.json'])

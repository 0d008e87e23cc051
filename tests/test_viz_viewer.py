"""The self-contained HTML viewer: int8 quantization, size budget, and a headless-Chromium click test.

The browser test needs Debian's chromium at /usr/bin/chromium (installed by bin/_browser.sh, run by bin/test);
without it the test FAILS with a message saying so.
"""
import os
import shutil

import numpy as np
import pytest

from visualize._synthetic import synthetic_batch
from visualize.similarity import patch_similarity
from visualize.viewer import (PAGE_BUDGET, QUANT_TOLERANCE, build_viewer, colour_lut, quantize_features,
                              viewer_similarity)

CHROMIUM = '/usr/bin/chromium'
CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
                 '--disable-background-networking', '--disable-component-update', '--disable-sync']


@pytest.fixture(scope='module')
def batch():
    return synthetic_batch(n=3, size=(96, 128), patch=8, channels=32, layers=(2, 5))


def _all_cosines(f):
    """Float cosine between every pair of patches: (N*h*w, N*h*w)."""
    x = f.transpose(0, 2, 3, 1).reshape(-1, f.shape[1]).astype(np.float64)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    return x @ x.T


def test_quantized_similarity_within_tolerance(batch):
    _, feats, _ = batch
    quant = quantize_features(feats)
    for layer, f in feats.items():
        ql = quant[layer]
        assert ql.q.dtype == np.int8 and ql.q.shape == (3, 12 * 16, 32) and np.abs(ql.q).max() == 127
        q = ql.q.reshape(-1, 32).astype(np.float64)
        q /= np.linalg.norm(q, axis=1, keepdims=True)
        err = np.abs(q @ q.T - _all_cosines(f)).max()  # every query patch, every image
        assert err < QUANT_TOLERANCE, err
        ref = patch_similarity(feats, 2, patch=(7, 3), layers=[layer]).maps[layer]
        np.testing.assert_allclose(viewer_similarity(ql, 2, 7, 3), ref, atol=QUANT_TOLERANCE)


def test_reduced_dims_and_size_budget(batch, tmp_path):
    images, feats, _ = batch
    info = build_viewer(images, feats, tmp_path / 'viewer.html')
    # budget per image and layer: base64 of P * D int8 = ceil(192 * 32 / 3) * 4 bytes
    assert info.per_image_layer == {2: 8192, 5: 8192}
    assert info.size <= info.budget, (info.size, info.budget)
    assert 0 < info.error < QUANT_TOLERANCE
    assert info.budget - PAGE_BUDGET < 3 * 2 * 8192 + 3 * 40_000
    small = build_viewer(images, feats, tmp_path / 'small.html', dims=8, max_side=160)
    assert small.per_image_layer == {2: 2048, 5: 2048} and small.size < info.size
    assert small.size <= small.budget
    ql = quantize_features(feats, dims=8)[5]
    err = np.abs(viewer_similarity(ql, 0, 5, 5) - patch_similarity(feats, 0, patch=(5, 5)).maps[5]).max()
    assert err < 0.25 and small.error < 0.25  # 8 of 32 dims keep the shape structure
    assert not [p for p in tmp_path.iterdir() if p.name.startswith('.')]


def test_viewer_bad_input(batch, tmp_path):
    images, feats, _ = batch
    with pytest.raises(ValueError, match='has 3 images but images has 2'):
        build_viewer(images[:2], feats, tmp_path / 'v.html')
    with pytest.raises(ValueError, match='2 names for 3 images'):
        build_viewer(images, feats, tmp_path / 'v.html', names=['a', 'b'])
    with pytest.raises(ValueError, match='outside the 3 images / 12x16 grid'):
        viewer_similarity(quantize_features(feats)[2], 0, 12, 0)
    assert not (tmp_path / 'v.html').exists()


def _launch(playwright):
    if not (os.path.exists(CHROMIUM) or shutil.which('chromium')):
        pytest.fail(f'headless Chromium not found at {CHROMIUM}: install it with `bash bin/_browser.sh` '
                    '(as root; Debian package "chromium"); the viewer browser test cannot run without it')
    return playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)


def _click_patch(page, image, row, col, grid, click=True):
    box = page.locator(f'#view-{image}').bounding_box()
    x = box['x'] + (col + 0.5) * box['width'] / grid[1]
    y = box['y'] + (row + 0.5) * box['height'] / grid[0]
    page.mouse.click(x, y) if click else page.mouse.move(x, y)


def _check_map(page, last, quant, feats):
    """The page's maps equal Python's int8 similarity (1e-5) and the float cosine (QUANT_TOLERANCE), and
    the painted map canvases hold the colour-table entries of those values."""
    layer, image, row, col = last['layer'], last['image'], last['row'], last['col']
    expected = viewer_similarity(quant[layer], image, row, col)
    shown = np.array(last['maps'], np.float64).reshape(expected.shape)
    np.testing.assert_allclose(shown, expected, atol=1e-5)
    exact = patch_similarity(feats, image, patch=(row, col), layers=[layer]).maps[layer]
    np.testing.assert_allclose(shown, exact, atol=QUANT_TOLERANCE)
    assert np.unravel_index(shown[image].argmax(), shown[image].shape) == (row, col)
    lut = colour_lut().astype(int)
    for i in range(len(shown)):
        pixels = np.array(page.evaluate(
            f"(() => {{ const c = document.getElementById('map-{i}');"
            f" return Array.from(c.getContext('2d').getImageData(0, 0, c.width, c.height).data); }})()"))
        rgb = pixels.reshape(*shown.shape[1:], 4)[..., :3].reshape(-1, 3)
        index = np.round(np.clip(shown[i].reshape(-1), 0, 1) * 255).astype(int)  # colour floor 0
        found = np.abs(rgb[:, None, :] - lut[None]).sum(-1).argmin(1)
        assert np.abs(found - index).max() <= 1


@pytest.mark.browser
def test_viewer_in_headless_chromium(batch, tmp_path):
    from playwright.sync_api import sync_playwright
    images, feats, _ = batch
    info = build_viewer(images, feats, tmp_path / 'viewer.html', names=['a', '<b>b</b>', 'c'])
    quant = quantize_features(feats)
    with sync_playwright() as pw:
        browser = _launch(pw)
        page = browser.new_page()
        errors, requests = [], []
        page.on('pageerror', lambda e: errors.append(str(e)))
        page.on('request', lambda r: requests.append(r.url))
        page.goto(info.path.as_uri())
        page.wait_for_function('window.viewer && window.viewer.ready', timeout=10_000)
        first = page.evaluate('window.viewer.lastMap')  # a map before any hover: centre of image 0
        assert (first['layer'], first['image'], first['row'], first['col']) == (5, 0, 6, 8)
        _click_patch(page, 1, 4, 5, (12, 16))  # default layer: the last one
        last = page.evaluate('window.viewer.lastMap')
        assert (last['layer'], last['image'], last['row'], last['col']) == (5, 1, 4, 5)
        _check_map(page, last, quant, feats)
        page.select_option('#layer', '2')  # switch layer: same query, layer-2 map
        last = page.evaluate('window.viewer.lastMap')
        assert (last['layer'], last['image'], last['row'], last['col']) == (2, 1, 4, 5)
        _check_map(page, last, quant, feats)
        page.check('#hover')  # hover mode: moving over image 0 updates the map live
        _click_patch(page, 0, 9, 13, (12, 16), click=False)
        last = page.evaluate('window.viewer.lastMap')
        assert (last['image'], last['row'], last['col']) == (0, 9, 13)
        _check_map(page, last, quant, feats)
        assert page.inner_text('#fig-1 figcaption') == '<b>b</b>'
        page.select_option('#show', '2')  # switch images
        assert page.evaluate("getComputedStyle(document.getElementById('fig-0')).display") == 'none'
        assert page.is_visible('#view-2')
        shown = np.array(page.evaluate("Array.from(document.getElementById('view-2').getContext('2d')"
                                       ".getImageData(0, 0, 320, 240).data)")).reshape(240, 320, 4)
        assert shown[..., :3].std() > 5  # the overlay was rendered
        browser.close()
    assert not errors, errors
    assert all(u.startswith(('file:', 'data:')) for u in requests), requests

"""Figures a user can read: NaFlex images at their own aspect ratio end to end (extract --per-image -> viz),
file names on the panels, a note when only some images are shown, PCA wrapping into rows, the viewer's subtitle
and initial query."""
import json

import numpy as np
from PIL import Image

from dense.cli import main
from dense.cli_extract import extract_folder
from dense.encoders import build_encoder
from visualize._synthetic import synthetic_batch
from visualize.pca import draw_pca, pca_map
from visualize.similarity import draw_similarity, patch_similarity


def test_naflex_per_image_features_drawn_at_their_own_aspect(tmp_path, capsys):
    rng = np.random.default_rng(0)
    (tmp_path / 'in').mkdir()
    for name, size in (('wide.png', (40, 96)), ('tall.png', (90, 30))):
        Image.fromarray(rng.integers(0, 255, (*size, 3), dtype=np.uint8)).save(tmp_path / 'in' / name)
    extract_folder(build_encoder('test', naflex=True), tmp_path / 'in', tmp_path / 'feats', per_image=True,
                   max_num_patches=16)
    assert main(['viz', '--features', str(tmp_path / 'feats'), '--out', str(tmp_path / 'viz'),
                 '--only', 'pca', 'viewer']) == 0
    written = json.loads(capsys.readouterr().out)
    for stem, landscape in (('wide', True), ('tall', False)):
        pca = Image.open(tmp_path / 'viz' / stem / 'figures' / f'pca_layer{3}.png')
        viewer = (tmp_path / 'viz' / stem / 'figures' / 'viewer.html').read_text()
        assert f'features {tmp_path / "feats" / stem}.safetensors' in viewer  # encoder + file in the subtitle
        data = json.loads(viewer.split('id="viewer-data" type="application/json">')[1].split('</script>')[0])
        image = data['images'][0]
        assert (image['width'] > image['height']) == landscape  # not squashed to a square
        assert pca.size[0] > 0 and str(tmp_path / 'viz' / stem / 'figures' / 'viewer.html') in written
    # a non-NaFlex encoder resizes every image to its native size (as extract --per-image): one figure set
    assert main(['viz', '--encoder', 'test', '--images', str(tmp_path / 'in' / 'wide.png'),
                 str(tmp_path / 'in' / 'tall.png'), '--per-image', '--out', str(tmp_path / 'viz2'), '--only',
                 'viewer', '--device', 'cpu']) == 0
    assert (tmp_path / 'viz2' / 'figures' / 'viewer.html').is_file()


def test_file_names_partial_note_and_pca_rows():
    images, feats, _ = synthetic_batch(n=8, size=(32, 48), patch=8, channels=16, layers=(1,))
    names = [f'holiday_photo_{i:03d}_with_a_long_name.jpg' for i in range(8)]
    result = patch_similarity(feats, 2, patch=(1, 1))
    fig = draw_similarity(images, result, [2, 0, 1], names=names)
    labels = [ax.get_ylabel() for ax in fig.axes if ax.get_ylabel()]
    assert labels[0].endswith('(query)') and labels[0].startswith('holiday_p') and '…' in labels[0]
    assert fig._suptitle.get_text() == '3 of 8 images shown (the viewer has all)'
    pca = draw_pca(images, pca_map(feats[1]), layer=1, names=names, max_cols=6)
    shown = [ax for ax in pca.axes if ax.get_visible()]
    assert len(shown) == 16 and len(pca.axes) == 4 * 6  # two row pairs: 6 + 2 images
    assert shown[0].get_title().startswith('holiday_p')

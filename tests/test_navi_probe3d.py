"""NAVI as Probe3D reads it: disparity decoding, EXIF orientation, resize / centre crop / box crop, normals."""
import numpy as np
import pytest
import torch
from PIL import Image

from dense.datasets.fixtures import NAVI_SIZE, navi_plane, write_navi
from dense.datasets.geo_common import probe3d_normals, read_navi_depth
from dense.datasets.navi import NAVIDataset, probe3d_box, read_navi_image, short_side_center_crop


@pytest.fixture(scope='module')
def navi_root(tmp_path_factory):
    root = tmp_path_factory.mktemp('navi')
    write_navi(root, np.random.default_rng(0), num=2)
    return root


def _by_hand(value: np.ndarray) -> np.ndarray:
    """depth_mm = 1 / (value / (65535 * 10)), 0 = invalid; metres."""
    value = value.astype(np.float64)
    out = np.zeros_like(value)
    out[value > 0] = 1.0 / (value[value > 0] / (65535 * 10)) / 1000
    return out


def test_navi_depth_is_decoded_from_disparity(navi_root):
    path = navi_root / 'mug/wild_set/depth/001.png'
    raw = np.asarray(Image.open(path))
    assert raw.dtype == np.uint16 and (raw == navi_plane(NAVI_SIZE, slope=(3, 1))).all()
    assert np.abs(read_navi_depth(str(path)) - _by_hand(raw)).max() <= 1e-6
    ds = NAVIDataset(str(navi_root), 'test', size=None, box_crop=False, short_side=None, every=1)
    sample = ds[1]
    assert sample['meta']['depth_path'] == str(path)
    assert np.abs(sample['depth'].numpy() - _by_hand(raw)).max() <= 1e-6
    # larger values = nearer: depth falls to the right where the disparity grows
    row = sample['depth'][50]
    assert row[20] > row[60] > 0


def test_exif_orientation_applied(navi_root):
    ds = NAVIDataset(str(navi_root), 'test', size=None, box_crop=False, short_side=None, every=1)
    sample = ds[0]  # mug/wild_set/000.jpg is stored rotated with EXIF orientation 6
    assert sample['meta']['img_path'].endswith('mug/wild_set/images/000.jpg')
    assert sample['image'].shape == (3, *NAVI_SIZE)
    with Image.open(sample['meta']['img_path']) as im:
        assert im.size == NAVI_SIZE  # stored (w, h) swapped: (96 wide, 128 high)


def _analytic_normal(slope, offset, focal, top, left):
    """Normal of the plane whose NAVI value is offset + sx*col + sy*row, under Probe3D's back-projection
    p = ((j + 0.5) z / f, (i + 0.5) z / f, z) in the crop (j = col - left): 1/z is affine, 1/z = a j + b i + c
    <=> n = (a f, b f, c) up to scale; facing the camera: z < 0."""
    sx, sy = slope
    c = offset + sx * (left - 0.5) + sy * (top - 0.5)
    n = -np.array([sx * focal, sy * focal, c], dtype=np.float64)
    return n / np.linalg.norm(n)


def test_plane_normals_match_the_analytic_normal(navi_root):
    ds = NAVIDataset(str(navi_root), 'train', size=None, short_side=96, every=1)
    sample = ds[1]  # view 001: slope (3, 1)
    top, left, side, _ = sample['meta']['crop']
    centre_left = round((128 - 96) / 2)  # torchvision CenterCrop of the 96 x 128 image to 96 x 96
    want = _analytic_normal((3, 1), 1000, 100.0, top, centre_left + left)
    n = sample['normals']
    valid = sample['depth'] > 0
    inner = torch.zeros_like(valid)  # pixels whose four neighbours have depth
    inner[1:-1, 1:-1] = valid[1:-1, 1:-1] & valid[:-2, 1:-1] & valid[2:, 1:-1] & valid[1:-1, :-2] & valid[1:-1, 2:]
    assert inner.sum() > 1000
    angle = torch.rad2deg(torch.acos((n[:, inner].double() * torch.from_numpy(want)[:, None]).sum(0).clamp(-1, 1)))
    assert angle.max() < 1.0
    assert (n[:, ~valid] == 0).all()  # no depth, no normal
    # the 512 x 512 output (here 150 x 150) is the crop resized with nearest neighbour, normals included
    big = NAVIDataset(str(navi_root), 'train', size=(150, 150), short_side=96, every=1)[1]
    idx = (torch.arange(150) * side / 150).floor().long()
    assert torch.equal(big['normals'], n[:, idx][:, :, idx]) and torch.equal(big['depth'], sample['depth'][idx][:, idx])


def test_probe3d_normals_fronto_parallel_plane_faces_the_camera():
    n = probe3d_normals(torch.full((7, 9), 2.0), 50.0)
    assert torch.allclose(n[:, 1:-1, 1:-1], torch.tensor([0.0, 0.0, -1.0])[:, None, None].expand(3, 5, 7),
                          atol=1e-6)
    assert (n[:, 0] == 0).all()  # the border has no four neighbours (Probe3D leaves it zero)


def test_probe3d_box_crop_by_hand():
    valid = torch.zeros(10, 12, dtype=torch.bool)
    valid[2:5, 3:9] = True  # rows 2..4, cols 3..8: extents 2 and 5 -> side 5, rows padded 3 -> start 2 - 1
    assert probe3d_box(valid) == (1, 3, 5)
    valid = torch.zeros(10, 12, dtype=torch.bool)
    valid[0:2, 3:9] = True  # centring would leave the image at the top: start clipped from (0 - 4) to 0
    assert probe3d_box(valid) == (0, 3, 5)
    with pytest.raises(ValueError, match='no valid depth'):
        probe3d_box(torch.zeros(4, 4, dtype=torch.bool))


def test_short_side_resize_and_centre_crop_as_torchvision():
    x = torch.arange(6 * 9, dtype=torch.float32).view(1, 6, 9)
    out = short_side_center_crop(x, 4)  # resize to 4 x int(4 * 9 / 6) = 4 x 6, nearest; crop columns 1..4
    rows, cols = [0, 1, 3, 4], [0, 1, 3, 4, 6, 7]
    assert torch.equal(out[0], x[0][rows][:, cols][:, 1:5])


def test_splits_views_and_order(navi_root):
    sizes = {s: len(NAVIDataset(str(navi_root), s, every=1)) for s in ('train', 'valid', 'trainval', 'test')}
    assert sizes == {'train': 4, 'valid': 4, 'trainval': 8, 'test': 4}
    listed = NAVIDataset(str(navi_root), 'trainval', every=1, order='listdir')
    ordered = NAVIDataset(str(navi_root), 'trainval', every=1)
    assert sorted(i[:3] for i in listed.items) == [i[:3] for i in ordered.items]
    assert len(NAVIDataset(str(navi_root), 'trainval', every=4)) == 2
    with pytest.raises(ValueError, match='order'):
        NAVIDataset(str(navi_root), 'test', order='random')


def test_training_jitter_runs_on_the_resized_frame_before_the_crops(navi_root):
    """get_navi_transforms: Resize(512), RandomApply(ColorJitter) on the normalised frame, then CenterCrop."""
    from torchvision.transforms import ColorJitter, Normalize
    jitter = dict(brightness=0.2, contrast=0.4, saturation=0.2, hue=0.1, p=1.0, space='imagenet')
    ds = NAVIDataset(str(navi_root), 'train', size=None, short_side=96, every=1, augment=dict(color_jitter=jitter))
    plain = NAVIDataset(str(navi_root), 'train', size=None, short_side=96, every=1)
    torch.manual_seed(0)
    got = ds[1]
    top, left, side, _ = got['meta']['crop']
    image = read_navi_image(got['meta']['img_path'])  # 96 x 128: the 96 short side is already the frame
    norm = Normalize((0.485, 0.456, 0.406), (0.229, 0.224, 0.225))
    torch.manual_seed(0)
    torch.rand(1)  # the RandomApply draw
    jittered = ColorJitter(0.2, 0.4, 0.2, 0.1)(norm(image))
    want = jittered[:, top:top + side, 16 + left:16 + left + side]
    assert torch.allclose(norm(got['image']), want, atol=1e-5)
    assert torch.equal(got['depth'], plain[1]['depth'])

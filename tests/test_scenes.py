"""Embedded scenes: determinism, exact labels (checked by an independent ray march), splits, boxes, expressions."""
import numpy as np
import pytest
import torch

from dense.scenes import CLASS_NAMES, SceneSet, render_scene
from dense.scenes.expressions import blind_accuracy, blind_candidates, resolve
from dense.scenes.layout import COLORS, sample_layout

SIZE = (64, 80)


def _camera_rays(layout, size):
    rot = layout.camera.rotation()
    rays_c = layout.camera.rays(size)
    return rot, rays_c, rays_c @ rot.T


def _inside(shape, p):
    """Point-in-solid tests written from the shape definitions, independently of the renderer's intersections."""
    name = type(shape).__name__
    dx, dz = p[..., 0] - shape.x, p[..., 2] - shape.z
    if name == 'Sphere':
        return dx ** 2 + (p[..., 1] - shape.r) ** 2 + dz ** 2 < shape.r ** 2
    if name == 'Cylinder':
        return (dx ** 2 + dz ** 2 < shape.r ** 2) & (p[..., 1] > 0) & (p[..., 1] < shape.h)
    if name == 'Cone':
        return (np.hypot(dx, dz) < shape.r * (1 - p[..., 1] / shape.h)) & (p[..., 1] > 0)
    c, s = np.cos(shape.yaw), np.sin(shape.yaw)
    lx, lz = c * dx + s * dz, -s * dx + c * dz
    if name == 'Box':
        return (np.abs(lx) < shape.ex) & (np.abs(p[..., 1] - shape.hy) < shape.hy) & (np.abs(lz) < shape.ez)
    along = np.clip(lx, -shape.half_len, shape.half_len)
    return (lx - along) ** 2 + (p[..., 1] - shape.r) ** 2 + lz ** 2 < shape.r ** 2


def _march(layout, origin, dirs, t_max, step=0.004):
    """First t where a ray enters the ground, the wall or an object (grid march + bisection), and what it hit."""
    def solid(t):
        p = origin + t[:, None] * dirs
        ids = np.full(len(t), -3)
        ids[p[:, 1] < 0] = -1
        ids[p[:, 2] > layout.wall_z] = -2
        for k, obj in enumerate(layout.objects):
            ids[_inside(obj.shape, p)] = k
        return ids
    lo, hi = np.zeros(len(dirs)), np.full(len(dirs), np.nan)
    for t in np.arange(step, t_max.max() + step, step):
        fresh = np.isnan(hi) & (solid(np.full(len(dirs), t)) != -3)
        hi[fresh] = t
        lo[np.isnan(hi)] = t
    for _ in range(30):
        mid = (lo + hi) / 2
        inside = solid(mid) != -3
        hi, lo = np.where(inside, mid, hi), np.where(inside, lo, mid)
    return hi, solid(hi)


def test_deterministic_and_contract():
    a, b = render_scene(7, SIZE), render_scene(7, SIZE)
    for key in ('image', 'depth', 'normals', 'semantic', 'instances'):
        np.testing.assert_array_equal(getattr(a, key), getattr(b, key))
    assert a.objects == b.objects and a.expressions == b.expressions
    assert not np.array_equal(a.image, render_scene(8, SIZE).image)
    assert a.image.shape == (*SIZE, 3) and a.image.dtype == np.uint8
    assert a.depth.dtype == np.float32 and np.isfinite(a.depth).all() and (a.depth > 0).all()
    assert a.semantic.dtype == np.uint8 and a.semantic.max() < len(CLASS_NAMES)
    np.testing.assert_allclose(np.linalg.norm(a.normals, axis=-1), 1, atol=1e-5)
    big = render_scene(7, (128, 160))
    assert [o['category'] for o in big.objects] == [o['category'] for o in a.objects]


@pytest.mark.parametrize('seed', [3, 11])
def test_labels_exact(seed):
    layout = sample_layout(seed)
    scene = render_scene(seed, SIZE)
    rot, rays_c, rays_w = _camera_rays(layout, SIZE)
    depth, normals = scene.depth.ravel(), scene.normals.reshape(-1, 3)
    # visible surfaces face the camera
    assert ((normals * rays_c).sum(1) < 1e-6).all()
    # background: the ground plane y = 0 or the wall z = wall_z, with their analytic depth and normal
    bg = scene.instances.ravel() < 0
    ground = bg & (np.abs(normals - rot.T @ [0, 1, 0]).max(1) < 1e-6)
    wall = bg & (np.abs(normals - rot.T @ [0, 0, -1]).max(1) < 1e-6)
    assert (ground | wall)[bg].all() and ground.any()
    np.testing.assert_allclose(depth[ground], (layout.camera.height / -rays_w[ground, 1]), rtol=1e-5)
    np.testing.assert_allclose(depth[wall], layout.wall_z / rays_w[wall, 2], rtol=1e-5)
    # object pixels: class of the object and, for spheres, normal = (p - c) / r in the camera frame
    inst = scene.instances.ravel()
    for k, obj in enumerate(scene.objects):
        rows = inst == k
        assert (scene.semantic.ravel()[rows] == CLASS_NAMES.index(obj['category'])).all()
        if obj['category'] == 'sphere':
            p = depth[rows, None] * rays_c[rows]
            expected = (p - np.array(obj['position'])) / np.linalg.norm(p - obj['position'], axis=1).mean()
            np.testing.assert_allclose(normals[rows], expected, atol=2e-4)


@pytest.mark.parametrize('seed', [0, 5, 9])
def test_nearest_hit_matches_independent_march(seed):
    layout = sample_layout(seed)
    scene = render_scene(seed, SIZE)
    _, _, rays_w = _camera_rays(layout, SIZE)
    objects = np.flatnonzero(scene.instances.ravel() >= 0)
    pick = np.union1d(objects, np.random.default_rng(0).choice(len(rays_w), 200, replace=False))
    depth = scene.depth.ravel()[pick]
    t, ids = _march(layout, layout.camera.origin, rays_w[pick], np.minimum(depth * 1.05 + 0.05, 70))
    object_class = np.array([CLASS_NAMES.index(o.category) for o in layout.objects])
    classes = np.where(ids >= 0, object_class[np.maximum(ids, 0)], np.where(ids == -3, 255, 0))
    # a grid march can step over a grazing sliver, so a few rays may disagree
    agree = (classes == scene.semantic.ravel()[pick]) & np.isclose(t, depth, rtol=2e-3, atol=1e-3)
    assert agree.mean() >= 0.99 and len(objects) > 100


def test_boxes_enclose_object_pixels():
    for seed in range(5):
        scene = render_scene(seed, SIZE)
        assert scene.objects, 'every scene has visible objects'
        for k, obj in enumerate(scene.objects):
            ys, xs = np.nonzero(scene.instances == k)
            assert len(ys) == obj['area'] > 0
            assert obj['box'] == (xs.min(), ys.min(), xs.max() + 1, ys.max() + 1)
            assert obj['color'] in COLORS and obj['size'] in ('small', 'large')


def test_expressions_unique_and_correct():
    count = 0
    for seed in range(12):
        scene = render_scene(seed, SIZE)
        for expr in scene.expressions:
            assert resolve(expr['text'], scene.objects) == [expr['object']], expr
            assert expr['box'] == scene.objects[expr['object']]['box']
            count += 1
    assert count >= 12


def test_resolve_hand_worked():
    obj = lambda cat, color, size, x, z: dict(category=cat, color=color, size=size, position=(x, 0.0, z))  # noqa
    objects = [obj('box', 'red', 'small', -1.0, 4.0), obj('sphere', 'blue', 'large', 0.0, 4.0),
               obj('box', 'red', 'large', 1.0, 4.0), obj('cone', 'blue', 'small', 0.0, 2.0)]
    assert resolve('the red box left of the large sphere', objects) == [0]
    assert resolve('the red box right of the sphere', objects) == [2]
    assert resolve('the box on the right', objects) == [2]
    assert resolve('the blue cone in front', objects) == [3]
    assert resolve('the sphere behind the cone', objects) == [1]
    assert sorted(resolve('the red box', objects)) == [0, 2]
    assert resolve('the box left of the box', objects) == []
    with pytest.raises(ValueError, match='cannot parse'):
        resolve('the tallest giraffe', objects)


def test_blind_reader_hand_worked():
    """A reader blind to shape / colour: candidates worked out by hand (u = x / z)."""
    obj = lambda cat, color, x, z: dict(category=cat, color=color, size='small', position=(x, 0.0, z),  # noqa
                                         area=100)
    objects = [obj('cone', 'red', -1.0, 5.0), obj('box', 'red', 1.0, 5.0), obj('cone', 'blue', 0.0, 8.0),
               obj('sphere', 'green', 0.0, 5.0) | dict(area=1)]   # too small to be referred to
    area = 1000
    assert blind_candidates('the red cone', objects, area, ()) == [0]
    assert blind_candidates('the red cone', objects, area, ('category',)) == [0, 1]
    assert blind_candidates('the red cone', objects, area, ('color',)) == [0, 2]
    assert blind_candidates('the cone on the left', objects, area, ('category',)) == [0]   # u: -0.2 < 0 < 0.2
    text = 'the red cone left of the blue cone'
    assert blind_candidates(text, objects, area, ('category',)) == [0]
    assert blind_candidates(text, objects, area, ('color',)) == [0]
    assert blind_candidates(text, objects, area, ('category', 'color')) == [0, 2]   # 2 is left of 1 as well
    assert blind_candidates('the sphere', objects, area, ()) == [0, 1, 2]   # nothing fits: every candidate
    exprs = [dict(text='the red cone', object=0), dict(text=text, object=0), dict(text='the red box', object=1)]
    assert blind_accuracy(exprs, objects, area, ('category',)) == pytest.approx((0.5 + 1 + 0.5) / 3)
    assert blind_accuracy(exprs, objects, area, ()) == 1.0
    with pytest.raises(ValueError, match='unknown attributes'):
        blind_candidates('the red cone', objects, area, ('shape',))


def test_blind_reader_with_nothing_blind_resolves_every_scene_expression():
    count = 0
    for seed in range(8):
        scene = render_scene(seed, SIZE)
        for expr in scene.expressions:
            assert blind_candidates(expr['text'], scene.objects, SIZE[0] * SIZE[1], ()) == [expr['object']], expr
            count += 1
    assert count >= 8


def test_colour_independent_of_class():
    pairs = [(o['color'], o['class_id']) for seed in range(100) for o in render_scene(seed, (48, 48)).objects]
    colors, classes = sorted(COLORS), range(1, len(CLASS_NAMES))
    table = np.array([[sum(p == (c, k) for p in pairs) for k in classes] for c in colors], dtype=float)
    assert table.sum() > 300
    # no colour determines the class: every colour shows at least 3 classes, none more than half the time
    assert ((table > 0).sum(1) >= 3).all() and (table.max(1) / table.sum(1) < 0.5).all()
    # chi-square test of independence (df = 28; 56.9 is the 0.999 quantile)
    expected = table.sum(1, keepdims=True) * table.sum(0, keepdims=True) / table.sum()
    assert ((table - expected) ** 2 / expected).sum() < 56.9


def test_splits_disjoint_and_indexable():
    sets = {split: SceneSet(split, (16, 16), num=5) for split in ('train', 'val', 'test')}
    seeds = [set(s.seeds) for s in sets.values()]
    assert not (seeds[0] & seeds[1] or seeds[0] & seeds[2] or seeds[1] & seeds[2])
    assert len(sets['val']) == 5 and sets['val'][4].seed == sets['val'].seeds[4]
    assert sets['test'][-1].seed == sets['test'][4].seed
    assert len(SceneSet('train', (16, 16))) == 1000
    with pytest.raises(IndexError):
        sets['train'][5]


@pytest.mark.parametrize('call', [lambda: render_scene(0, (0, 8)), lambda: render_scene(0, (8, -1)),
                                  lambda: render_scene(0, (8.0, 8)), lambda: render_scene(0, 8),
                                  lambda: SceneSet('validation'), lambda: SceneSet('val', num=0)])
def test_bad_input(call):
    with pytest.raises(ValueError, match='dense/scenes/render.py'):
        call()


def test_depth_and_normals_vary_with_the_scene():
    """The pixel position alone explains only part of the depth and normal variance across scenes."""
    scenes = [render_scene(seed, (24, 24)) for seed in range(30)]
    for maps in (np.log(np.stack([s.depth for s in scenes])), np.stack([s.normals for s in scenes])):
        explained = 1 - ((maps - maps.mean(0)) ** 2).sum() / ((maps - maps.mean()) ** 2).sum()
        assert explained < 0.75, explained


def test_to_batch_follows_training_batch_contract():
    from dense.scenes.batch import to_batch
    scenes = [render_scene(seed, (16, 24)) for seed in (1, 2)]
    batch = to_batch(scenes)
    assert batch['image'].shape == (2, 3, 16, 24) and batch['image'].dtype == torch.float32
    assert float(batch['image'].max()) <= 1 and batch['seg'].dtype == torch.int64
    np.testing.assert_array_equal(batch['seg'][1].numpy(), scenes[1].semantic)
    np.testing.assert_array_equal(batch['normals'][0].permute(1, 2, 0).numpy(), scenes[0].normals)
    np.testing.assert_array_equal(batch['depth'][0].numpy(), scenes[0].depth)
    assert batch['meta'][1]['seed'] == 2 and batch['meta'][0]['ori_shape'] == (16, 24)
    with pytest.raises(ValueError, match='share a size'):
        to_batch([scenes[0], render_scene(3, (8, 8))])


def test_objects_apart_from_each_other_and_the_camera():
    from dense.scenes.layout import _footprint
    for seed in range(300):
        shapes = [o.shape for o in sample_layout(seed).objects]
        assert 1 <= len(shapes) <= 7
        for i, a in enumerate(shapes):
            assert np.hypot(a.x, a.z) > _footprint(a)
            assert all(np.hypot(a.x - b.x, a.z - b.z) > _footprint(a) + _footprint(b) for b in shapes[i + 1:])

"""Scenes written in the real data sets' layouts and read back by the real loaders (mmseg, pycocotools, REFER)."""
import os
import pickle

import cv2
import numpy as np
import pytest

from dense.datasets.refcoco import load_refcoco, load_refs
from dense.scenes import CLASS_NAMES, SceneSet
from dense.scenes.export import decode_normals, write_dataset

SIZE = (48, 64)


@pytest.fixture(scope='module')
def mmseg():
    from dense.mmcv_compat import import_mmseg
    import_mmseg()
    from mmengine.registry import init_default_scope
    init_default_scope('mmseg')
    import mmseg.datasets
    return mmseg.datasets


def test_ade20k_layout_read_by_mmseg(tmp_path, mmseg):
    write_dataset(tmp_path, 'ade20k', ('train', 'val'), n=2, size=SIZE)
    ds = mmseg.BaseSegDataset(
        metainfo=dict(classes=CLASS_NAMES), data_root=str(tmp_path), reduce_zero_label=True,
        data_prefix=dict(img_path='images/validation', seg_map_path='annotations/validation'),
        img_suffix='.jpg', seg_map_suffix='.png',
        pipeline=[dict(type='LoadImageFromFile'), dict(type='LoadAnnotations')])
    scenes = SceneSet('val', SIZE, num=2)
    assert len(ds) == 2
    for i in range(2):
        item = ds[i]
        np.testing.assert_array_equal(item['gt_seg_map'], scenes[i].semantic)
        jpeg_error = np.abs(item['img'][..., ::-1].astype(float) - scenes[i].image).mean()
        assert jpeg_error < 10, jpeg_error  # JPEG q95 with 4:2:0 chroma on a 48x64 image
    assert not list(tmp_path.rglob('*.tmp'))


def test_nyu_layout_read_by_mmseg(tmp_path, mmseg):
    write_dataset(tmp_path, 'nyu', ('train', 'test'), n=2, size=SIZE)
    ds = mmseg.NYUDataset(data_root=str(tmp_path),
                          data_prefix=dict(img_path='images/test', depth_map_path='annotations/test'),
                          pipeline=[dict(type='LoadImageFromFile'),
                                    dict(type='LoadDepthAnnotation', depth_rescale_factor=1e-3)])
    scenes = SceneSet('test', SIZE, num=2)
    assert len(ds) == 2
    for i in range(2):
        item = ds[i]
        np.testing.assert_allclose(item['gt_depth_map'], scenes[i].depth, atol=5.01e-4)
        png = cv2.imread(item['img_path'].replace('images', 'normals').replace('.jpg', '.png'), cv2.IMREAD_UNCHANGED)
        normals = decode_normals(png[..., ::-1])
        cos = (normals * scenes[i].normals).sum(-1)
        assert np.degrees(np.arccos(np.clip(cos, -1, 1))).max() < 0.6


def test_coco_layout_read_by_pycocotools(tmp_path):
    from pycocotools.coco import COCO
    write_dataset(tmp_path, 'coco', 'val', n=3, size=SIZE)
    coco = COCO(str(tmp_path / 'annotations' / 'instances_val2017.json'))
    assert [c['name'] for c in coco.loadCats(coco.getCatIds())] == list(CLASS_NAMES[1:])
    for scene in SceneSet('val', SIZE, num=3):
        info = coco.loadImgs(scene.seed + 1)[0]
        assert (tmp_path / 'images' / 'val2017' / info['file_name']).is_file()
        anns = coco.loadAnns(coco.getAnnIds(imgIds=scene.seed + 1))
        assert len(anns) == len(scene.objects)
        for k, (ann, obj) in enumerate(zip(anns, scene.objects)):
            x0, y0, x1, y1 = obj['box']
            assert ann['bbox'] == [x0, y0, x1 - x0, y1 - y0]
            assert coco.loadCats(ann['category_id'])[0]['name'] == obj['category']
            np.testing.assert_array_equal(coco.annToMask(ann), scene.instances == k)


def test_refcoco_layout_read_back(tmp_path):
    write_dataset(tmp_path, 'refcoco', ('train', 'val'), n=3, size=SIZE)
    samples = load_refcoco(tmp_path, 'val')
    scenes = {s.seed + 1: s for s in SceneSet('val', SIZE, num=3)}
    expected = sum(len(s.expressions) for s in scenes.values())
    assert len(samples) == expected > 0
    for sample in samples:
        scene = scenes[sample['image_id']]
        match = [e for e in scene.expressions if e['text'] == sample['sentence']]
        assert match and tuple(sample['box']) == match[0]['box']
        assert sample['category'] == scene.objects[match[0]['object']]['category']
        assert os.path.isfile(sample['image_path'])
    refs = load_refs(tmp_path / 'refcoco' / 'refs(unc).p')
    assert {r['split'] for r in refs} == {'train', 'val'}
    with pytest.raises(ValueError, match="no refs in split 'testA'"):
        load_refcoco(tmp_path, 'testA')


class _Evil:
    def __reduce__(self):
        return os.system, ('touch pwned',)


@pytest.mark.parametrize('payload', [[{'ref_id': 0, 'x': _Evil()}], [{1, 2}]])
def test_restricted_unpickler_refuses_globals(tmp_path, payload, monkeypatch):
    monkeypatch.chdir(tmp_path)
    path = tmp_path / 'refs(unc).p'
    path.write_bytes(pickle.dumps(payload, protocol=2))
    with pytest.raises(ValueError, match=r'refs\(unc\)\.p: .*refusing to load global'):
        load_refs(path)
    assert not (tmp_path / 'pwned').exists()


def test_bad_pickles_and_paths(tmp_path):
    path = tmp_path / 'refs(unc).p'
    path.write_bytes(pickle.dumps([{'a': 1}])[:-3])
    with pytest.raises(ValueError, match='not a readable refs pickle'):
        load_refs(path)
    path.write_bytes(pickle.dumps({'a': 1}))
    with pytest.raises(ValueError, match='expected a list of ref dicts'):
        load_refs(path)
    with pytest.raises(FileNotFoundError, match='no such refs pickle'):
        load_refs(tmp_path / 'missing.p')


@pytest.mark.parametrize('layout, splits, size', [('voc', 'train', SIZE), ('nyu', ('train', 'val'), SIZE),
                                                  ('ade20k', ('test',), SIZE), ('coco', (), SIZE),
                                                  ('coco', 'train', (0, 4))])
def test_bad_export_arguments_write_nothing(tmp_path, layout, splits, size):
    root = tmp_path / 'out'
    with pytest.raises(ValueError, match='dense/scenes/'):
        write_dataset(root, layout, splits, n=1, size=size)
    assert not root.exists()


def test_cli_command_writes_layout(tmp_path, capsys):
    import argparse

    from dense.scenes import cli
    parser = argparse.ArgumentParser()
    cli.add_arguments(parser)
    args = parser.parse_args([str(tmp_path), '--layout', 'ade20k', '--num', '1', '--size', '16', '24'])
    assert cli.run(args) == 0
    assert len(list((tmp_path / 'annotations' / 'training').glob('*.png'))) == 1
    assert len(list((tmp_path / 'images' / 'validation').glob('*.jpg'))) == 1
    assert 'ade20k layout' in capsys.readouterr().out

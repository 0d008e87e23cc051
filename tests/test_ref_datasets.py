"""Referring data: REFER-layout fixtures written here (three variants with a planted train / eval overlap), the
combined split's exclusion rule, the scenes' expressions on the fly and through the RefCOCO export, bad input."""
import os
import pickle

import pytest
import torch
from PIL import Image

from dense.datasets import build_dataset
from dense.datasets.common import collate
from dense.datasets.fixtures import write_fixture
from dense.datasets.fixtures_ref import SIZES, coco_file
from dense.datasets.refcoco import IMAGE_DIR, load_combined
from dense.scenes.export import write_dataset

def write_refer(root, **options):
    write_fixture('refcocox', root, **options)
    return root


def test_combined_train_drops_every_image_of_any_eval_split(tmp_path):
    write_refer(tmp_path)
    train = load_combined(tmp_path, 'train')
    # dropped: 2 (RefCOCO+ testA), 3 (RefCOCOg val) and 6 (RefCOCO+ val / testB), all train images elsewhere
    assert {s['image_id'] for s in train} == {1, 5}
    assert len(train) == 2 * 3  # refs: refcoco 1, refcoco+ 1 and 5; two sentences each
    test = load_combined(tmp_path, 'test')
    assert sorted({s['split'] for s in test}) == ['refcoco+/testA', 'refcoco+/testB', 'refcoco/testA',
                                                  'refcoco/testB', 'refcocog/test']
    assert {s['split'] for s in load_combined(tmp_path, 'val')} == {'refcoco/val', 'refcoco+/val', 'refcocog/val'}


def test_refcoco_dataset_samples_follow_the_contract(tmp_path):
    write_refer(tmp_path)
    dataset = build_dataset(dict(type='refcoco', root=str(tmp_path), splits=['refcoco/val', 'refcoco+/testA'],
                                 size=(32, 32)))
    assert len(dataset) == 4
    sample = dataset[0]
    h, w = SIZES[4]
    expected = torch.tensor([1.0, 2.0, 9.0, 7.0]) * torch.tensor([32 / w, 32 / h, 32 / w, 32 / h])
    assert sample['image'].shape == (3, 32, 32) and sample['expression'] == 'refcoco val 4 0'
    assert torch.allclose(sample['target_box'], expected)
    assert sample['boxes'].shape == (2, 4) and sample['box_labels'].tolist() == [0, 1]
    assert sample['meta']['split'] == 'refcoco/val' and dataset[3]['meta']['split'] == 'refcoco+/testA'
    batch = collate([dataset[i] for i in range(4)])
    assert batch['target_box'].shape == (4, 4) and len(batch['expression']) == 4 and len(batch['boxes']) == 4


def test_missing_annotation_unknown_category_and_flip_are_clear_errors(tmp_path):
    write_refer(tmp_path / 'a', drop_ann=41)
    with pytest.raises(ValueError, match=r'refs\(unc\)\.p: ref \d+ names annotation id 41, which .*instances.json'):
        build_dataset(dict(type='refcoco', root=str(tmp_path / 'a'), splits='refcoco/val'))
    write_refer(tmp_path / 'b', category_id=99)
    with pytest.raises(ValueError, match=r'instances.json: ref \d+ .* category id 99'):
        build_dataset(dict(type='refcoco', root=str(tmp_path / 'b'), splits='refcoco/val'))
    write_refer(tmp_path / 'c')
    with pytest.raises(ValueError, match='flip'):
        build_dataset(dict(type='refcoco', root=str(tmp_path / 'c'), splits='refcoco/val',
                           augment=dict(flip=True)))[0]
    with pytest.raises(ValueError, match='unknown RefCOCO variant'):
        build_dataset(dict(type='refcoco', root=str(tmp_path / 'c'), splits='refclef/val'))
    Image.new('RGB', (5, 5)).save(tmp_path / 'c' / IMAGE_DIR / coco_file(4))
    with pytest.raises(ValueError, match='instances.json says'):
        build_dataset(dict(type='refcoco', root=str(tmp_path / 'c'), splits='refcoco/val'))[0]


class _Evil:
    def __reduce__(self):
        return os.system, ('touch pwned',)


def test_crafted_refs_pickle_is_refused_before_it_runs(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write_refer(tmp_path)
    (tmp_path / 'refcoco' / 'refs(unc).p').write_bytes(pickle.dumps([dict(ref_id=0, x=_Evil())], protocol=2))
    with pytest.raises(ValueError, match=r'refs\(unc\)\.p: .*refusing to load global'):
        build_dataset(dict(type='refcoco', root=str(tmp_path), splits='combined/train'))
    assert not (tmp_path / 'pwned').exists()


def _key(sample):
    return (sample['expression'], tuple(sample['target_box'].tolist()),
            tuple(sorted(zip(map(tuple, sample['boxes'].tolist()), sample['box_labels'].tolist()))))


def test_scene_expressions_on_the_fly_equal_the_refcoco_export(tmp_path):
    write_dataset(tmp_path, 'refcoco', ('train', 'val'), n=3, size=(64, 64))
    exported = build_dataset(dict(type='refcoco', root=str(tmp_path), splits='refcoco/val', size=None))
    on_the_fly = build_dataset(dict(type='ref_scenes', split='val', size=(64, 64), num=3))
    assert len(exported) == len(on_the_fly) > 0
    assert sorted(_key(exported[i]) for i in range(len(exported))) == \
        sorted(_key(on_the_fly[i]) for i in range(len(on_the_fly)))
    sample = on_the_fly[0]
    assert sample['image'].shape == (3, 64, 64) and sample['meta']['split'] == 'scenes/val'

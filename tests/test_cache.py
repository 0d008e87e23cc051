"""Feature cache: stored features equal the extractor's, partial / foreign shards are rebuilt or refused, runs
needing more augmented views than cached are refused, and heads trained from the cache match on-the-fly training.
"""
import json
import tempfile

import pytest
import torch

from dense.cache import (AugmentedViews, FeatureCache, build_cache, cache_dir, cache_key, check_views,
                         key_hash, shard_error)
from dense.datasets import build_dataset
from dense.encoders import build_encoder
from dense.extract import FeatureExtractor
from probes.train import ProbeModel, as_config, expand_grid, run_training
from probes.train.cached import collate_cached
from probes.tasks import build_task
from dense.datasets.common import collate

DATA = dict(type='scenes', split='train', size=(32, 32), num=5, augment=dict(crop_size=(32, 32), flip=True,
                                                                            scale_range=(0.8, 1.2)))
SMOKE = 'configs/depth/scenes_linear_dpt_test64_smoke.py'


def _build(tmp_path, encoder, views=2, dtype='float32', shard_size=4, data=DATA):
    key = cache_key(encoder, encoder.default_layers, data, views=views, seed=3, dtype=dtype)
    folder = build_cache(encoder, build_dataset(dict(data)), key, tmp_path, shard_size=shard_size, progress=False)
    return key, folder


def test_cached_items_are_the_extractor_features_of_the_same_views(tmp_path):
    enc = build_encoder('test')
    key, folder = _build(tmp_path, enc, dtype='float16')
    cache = FeatureCache(folder, key)
    views = AugmentedViews(build_dataset(dict(DATA)), 2, seed=3)
    assert len(cache) == len(views) == 10 and cache.num_images == 5 and cache.image_items(1) == [1, 6]
    fx = FeatureExtractor(enc, progress=False)
    for k in (0, 4, 7):
        sample, item = views[k], cache[k]
        out = fx.forward_batch(sample['image'][None])
        for i in enc.default_layers:  # float16 storage: relative rounding 2^-11
            assert item['features'][i].dtype == torch.float16
            torch.testing.assert_close(item['features'][i].float(), out.layers[i][0], rtol=1e-3, atol=1e-3)
        torch.testing.assert_close(item['pooled'].float(), out.pooled[0], rtol=1e-3, atol=1e-3)
        assert torch.equal(item['seg'], sample['seg']) and torch.equal(item['depth'], sample['depth'])
        assert item['meta'] == json.loads(json.dumps(sample['meta'])) and item['image_size'] == (32, 32)
    assert not torch.equal(views[0]['image'], views[5]['image'])  # view 1 of image 0 is another augmentation
    assert torch.equal(views[5]['image'], views[5]['image'])      # ... and reproducible


def test_partial_shard_is_never_read_and_is_rebuilt_alone(tmp_path):
    enc = build_encoder('test')
    key, folder = _build(tmp_path, enc)
    shard = folder / 'shard-00001.safetensors'
    shard.write_bytes(shard.read_bytes()[:-100])  # a truncated shard
    (folder / '.shard-00002.safetensors.x1.tmp').write_bytes(b'partial')  # a killed writer's leftover
    with pytest.raises(ValueError, match='shard-00001.*not read.*truncated'):
        FeatureCache(folder, key)[5]
    assert FeatureCache(folder, key)[0]['pooled'].shape == (enc.embed_dim,)  # intact shards still read
    intact = {p.name: p.stat().st_mtime_ns for p in folder.glob('shard-*') if p != shard}
    calls = []
    enc.register_forward_hook(lambda *a: calls.append(1))
    build_cache(enc, build_dataset(dict(DATA)), key, tmp_path, shard_size=4, progress=False)  # resume
    assert len(calls) == 4  # only the four items of the broken shard were extracted again
    assert {p.name: p.stat().st_mtime_ns for p in folder.glob('shard-*') if p != shard} == intact
    assert not list(folder.glob('.*.tmp')) and shard_error(shard, key_hash(key), 4, 4) is None
    assert FeatureCache(folder, key)[5]['features'][enc.default_layers[0]].shape[0] == enc.embed_dim


def test_cache_of_other_weights_or_settings_is_refused(tmp_path):
    enc = build_encoder('test')
    key, folder = _build(tmp_path, enc)
    other = build_encoder('test', seed=1)
    other_key = cache_key(other, other.default_layers, DATA, views=2, seed=3, dtype='float32')
    assert cache_dir(tmp_path, other_key) != folder
    with pytest.raises(ValueError, match="differs in \\['weights'\\]"):
        FeatureCache(folder, other_key)
    with pytest.raises(ValueError, match='dtype'):
        cache_key(enc, enc.default_layers, DATA, dtype='int8')
    # a shard moved in from another cache is refused too
    _, folder2 = _build(tmp_path / 'b', enc, views=2, dtype='float16')
    (folder / 'shard-00000.safetensors').write_bytes((folder2 / 'shard-00000.safetensors').read_bytes())
    with pytest.raises(ValueError, match='another cache key'):
        FeatureCache(folder, key)[0]


def test_run_needing_more_views_than_cached_is_refused(tmp_path):
    enc = build_encoder('test')
    key, folder = _build(tmp_path, enc)
    cache = FeatureCache(folder, key)
    check_views(cache, augment=True, max_iters=5, batch_size=2)  # 10 draws over 5 images: 2 views
    with pytest.raises(ValueError, match='needs 3 augmented views per image .* holds 2'):
        check_views(cache, augment=True, max_iters=6, batch_size=2)
    check_views(cache, augment=False, max_iters=600, batch_size=2)  # no augmentation: one view serves all epochs


def _smoke(tmp_path, name, **extra):
    cfg = as_config(SMOKE)
    cfg.work_dir = str(tmp_path / name)
    cfg.merge_from_dict(extra)
    return run_training(cfg)['metrics']


@pytest.mark.parametrize('dtype, tol', [('float32', 1e-4), ('float16', 0.05)])
def test_heads_trained_from_cache_match_on_the_fly(tmp_path, dtype, tol):
    """Same images, same sampler order: float32 storage gives the same metrics (|diff| <= 1e-4, summation order
    only); float16 storage within 5% relative (features rounded to 11 bits, 4 AdamW steps)."""
    fly = _smoke(tmp_path, 'fly')
    cached = _smoke(tmp_path, 'cached', cache=dict(root=str(tmp_path / 'cache'), dtype=dtype, shard_size=3))
    for split in fly:
        keys = [k for k in fly[split] if k.endswith(('/abs_rel', '/rmse', '/d1'))]
        assert keys
        for k in keys:
            assert abs(cached[split][k] - fly[split][k]) <= tol * max(1.0, abs(fly[split][k])), k


def test_augmented_views_train_the_same_from_cache():
    """Two views per image with random crop / flip / rescale: a few steps on the cached views and on the same views
    computed on the fly give the same head weights (float32 storage; atol 1e-5)."""
    enc = build_encoder('test')
    specs = expand_grid(dict(task='seg', heads=['linear'], layers=[[-1], 'default'], lrs=[1e-2], pooled=[False, True]),
                        enc.depth, enc.default_layers)
    tasks = {'seg': build_task('seg', num_classes=6)}
    with tempfile.TemporaryDirectory() as root:
        key, folder = _build(root, enc)
        cache = FeatureCache(folder, key)
        views = AugmentedViews(build_dataset(dict(DATA)), 2, seed=3)
        models = []
        for source, batcher in ((views, collate), (cache, collate_cached)):
            torch.manual_seed(0)
            model = ProbeModel(enc, tasks, specs)
            optim = torch.optim.AdamW(model.probes.parameters(), lr=1e-2)
            for order in ([3, 8, 1], [9, 0, 5], [2, 7, 6]):
                loss = sum(model(batcher([source[k] for k in order]), mode='loss').values())
                optim.zero_grad()
                loss.backward()
                optim.step()
            models.append(model)
    for (name, a), b in zip(models[0].probes.state_dict().items(), models[1].probes.state_dict().values()):
        torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-5, msg=name)


def test_cli_cache_extracts_the_training_split(tmp_path, capsys):
    from dense.cli import main
    assert main(['cache', SMOKE, '--cfg-options', f'cache.root={tmp_path}', 'cache.shard_size=3']) == 0
    (folder,) = tmp_path.iterdir()
    cache = FeatureCache(folder)
    assert len(cache) == cache.num_images == 8 and len(list(folder.glob('shard-*'))) == 3
    assert str(folder) in capsys.readouterr().out


REF_SMOKE = 'configs/ref/scenes_decoder-baselines_test-64_smoke.py'


def test_instance_samples_round_trip_and_share_one_forward_per_image(tmp_path):
    """Referring samples (one per expression, several per image): boxes, labels, target box and expression come
    back equal; the encoder runs once per distinct image, not once per expression."""
    enc = build_encoder('test')
    data = dict(type='ref_scenes', split='train', size=(32, 32), num=3)
    dataset = build_dataset(dict(data))
    extractor = FeatureExtractor(enc, layers=enc.default_layers, progress=False)
    calls = []

    def encode(x01):
        calls.append(x01.clone())
        out = extractor.forward_batch(x01)
        return out.layers, out.pooled
    key = cache_key(enc, enc.default_layers, data, dtype='float32')
    folder = build_cache(enc, dataset, key, tmp_path, shard_size=5, progress=False, encode=encode)
    cache = FeatureCache(folder, key)
    assert len(cache) == len(dataset) > 3
    # one forward per (shard, scene): a shard boundary inside a scene's expressions costs one more
    assert len(calls) == len({(i // 5, dataset.items[i][0]) for i in range(len(dataset))}) < len(dataset)
    for k in range(len(dataset)):
        got, want = cache[k], dataset[k]
        assert got['expression'] == want['expression'] and got['image_size'] == (32, 32)
        for name in ('target_box', 'boxes', 'box_labels'):
            assert torch.equal(got[name], want[name]), name
        torch.testing.assert_close(got['features'][enc.default_layers[-1]],
                                   extractor.forward_batch(want['image'][None]).layers[enc.default_layers[-1]][0])
    batch = collate_cached([cache[k] for k in range(4)])
    assert batch['image_size'] == (32, 32) and len(batch['expression']) == 4 and len(batch['boxes']) == 4


def test_referring_heads_trained_from_cache_match_on_the_fly(tmp_path):
    """The referring task trains from the cache (no images in the batch: sizes from ``image_size``); float32
    storage gives the on-the-fly metrics of every head (|diff| <= 1e-4 on mIoU, Acc@0.5 equal)."""
    def run(name, **extra):
        cfg = as_config(REF_SMOKE)
        cfg.work_dir = str(tmp_path / name)
        cfg.merge_from_dict(dict(schedule=dict(max_iters=4), **extra))
        cfg.probes[0]['head_opts']['ref_decoder']['dropout'] = 0.0
        return run_training(cfg)['metrics']
    fly = run('fly')
    cached = run('cached', cache=dict(root=str(tmp_path / 'cache'), dtype='float32', shard_size=5))
    keys = [k for k in fly['val'] if k.endswith(('/Acc@0.5', '/mIoU'))]
    assert len(keys) >= 8
    for split in fly:
        for k in keys:
            assert abs(cached[split][k] - fly[split][k]) <= 1e-4 * max(1.0, abs(fly[split][k])), k


def test_every_list_key_of_a_batch_is_stored_by_the_cache():
    """A list key added to the batches (dense.datasets.common.LIST_KEYS) must be stored too, or cached training
    would silently lose it."""
    from dense.cache import INSTANCE_KEYS, TEXT_KEYS
    from dense.datasets.common import LIST_KEYS
    assert set(LIST_KEYS) <= set(INSTANCE_KEYS) | set(TEXT_KEYS)

# Smoke variant of configs/seg/ade20k_linear-dpt_siglip2-*.py: same bases, the 'test' encoder, a tiny fixture
# (python -m dense.datasets.fixtures ade20k work_dirs/fixtures/ade20k), two iterations; seconds on CPU.
_base_ = ['../_base_/seg_ade20k.py', '../_base_/protocol_siglip2.py']
encoder = dict(name='test', weights=None)
data_root = 'work_dirs/fixtures/ade20k'
crop = 32
data = dict(train=dict(data_root='{data_root}', augment=dict(crop_size=(crop, crop), resize=crop)),
            val=dict(data_root='{data_root}', image_resize=crop))
inference = dict(mode='slide', crop_size=(crop, crop), stride=(16, 16))
train_batch_size = 2
num_workers = 0
schedule = dict(max_iters=2, warmup_iters=1, checkpoint_interval=2, log_interval=1)
work_dir = 'work_dirs/seg/ade20k_linear-dpt_test-smoke'
probes = [
    dict(task='seg', heads=['linear'], layers=[[-1]], lrs=[1e-3], pooled=[True, False]),
    dict(task='seg', heads=['dpt'], layers=['default'], lrs=[1e-3],
         head_opts=dict(dpt=dict(hidden_dim=8, reassemble_dims=(4, 4, 8, 8)))),
]

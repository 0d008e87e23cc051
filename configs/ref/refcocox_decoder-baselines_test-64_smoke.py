# Smoke variant of refcocox_decoder-baselines_*_locca.py: same base, the 'test' encoder and text tower, the REFER
# fixture (python -m dense.datasets.fixtures refcocox work_dirs/fixtures/refcocox), two iterations; seconds on CPU.
_base_ = ['_base_/refcocox_locca.py']
encoder = dict(name='test', weights=None)
data_root = 'work_dirs/fixtures/refcocox'
size = (64, 64)
data = dict(train=dict(root=data_root, size=size), val=dict(root=data_root, size=size),
            test=dict(root=data_root, size=size))
probes = [dict(task='ref', heads=['ref_decoder', 'ref_similarity', 'ref_centre', 'ref_largest'], layers=[[-1]],
               lrs=[1e-4], head_opts=dict(ref_decoder=dict(depth=2, width=16, heads=2, box='mask')))]
train_batch_size = 2
val_batch_size = 4
num_workers = 0
schedule = dict(max_iters=2, warmup_iters=1, checkpoint_interval=2, log_interval=1)
work_dir = 'work_dirs/ref/refcocox_decoder-baselines_test-64_smoke'

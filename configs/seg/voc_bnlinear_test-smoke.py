# Smoke variant of configs/seg/voc_bnlinear_siglip2-*.py: same bases, the 'test' encoder, a tiny fixture
# (python -m dense.datasets.fixtures voc work_dirs/fixtures/voc --sbd), two iterations; seconds on CPU.
_base_ = ['../_base_/seg_voc.py', '../_base_/protocol_dinov2_linear.py']
encoder = dict(name='test', weights=None)
data_root = 'work_dirs/fixtures/voc'
crop = 32
data = dict(train=dict(data_root='{data_root}', augment=dict(crop_size=(crop, crop), resize=crop)),
            val=dict(data_root='{data_root}', image_resize=crop))
inference = dict(mode='slide', crop_size=(crop, crop), stride=(16, 16))
train_batch_size = 2
num_workers = 0
schedule = dict(max_iters=2, warmup_iters=1, checkpoint_interval=2, log_interval=1)
work_dir = 'work_dirs/seg/voc_bnlinear_test-smoke'

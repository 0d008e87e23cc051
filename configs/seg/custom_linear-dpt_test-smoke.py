# Smoke variant of configs/seg/custom_linear-dpt_siglip2-b16-512.py: your own image / mask folders (seg_custom),
# the 'test' encoder on a tiny fixture (python -m dense.datasets.fixtures custom work_dirs/fixtures/custom).
_base_ = ['../_base_/protocol_siglip2.py']
encoder = dict(name='test', weights=None)
data_root = 'work_dirs/fixtures/custom'
classes = ['background', 'road', 'car']
tasks = dict(seg=dict(num_classes=3))
crop = 32
data = dict(
    train=dict(type='seg_custom', img_dir='{data_root}/train/images', ann_dir='{data_root}/train/masks',
               classes=classes, augment=dict(crop_size=(crop, crop), resize=crop, scale_range=(0.5, 2.0), flip=True)),
    val=dict(type='seg_custom', img_dir='{data_root}/val/images', ann_dir='{data_root}/val/masks',
             classes=classes, image_resize=crop),
)
inference = dict(mode='slide', crop_size=(crop, crop), stride=(16, 16))
train_batch_size = 2
num_workers = 0
schedule = dict(max_iters=2, warmup_iters=1, checkpoint_interval=2, log_interval=1)
work_dir = 'work_dirs/seg/custom_linear-dpt_test-smoke'
probes = [
    dict(task='seg', heads=['linear'], layers=[[-1]], lrs=[1e-3], pooled=[True, False]),
    dict(task='seg', heads=['dpt'], layers=['default'], lrs=[1e-3],
         head_opts=dict(dpt=dict(hidden_dim=8, reassemble_dims=(4, 4, 8, 8)))),
]

# Smoke variant of lvis_owl_siglip2-*_norare.py on the real LVIS v1 layout: the 'test' towers, a 4-image fixture
# (python -m dense.datasets.detection_fixtures lvis work_dirs/fixtures/lvis), two iterations; seconds on CPU.
_base_ = ['_base_/lvis_norare.py']
encoder = dict(name='test', weights=None)
data_root = 'work_dirs/fixtures/lvis'
image_size = 64
tasks = dict(det=dict(classes=data_root + '/annotations/lvis_v1_val.json'))
probes = [dict(task='det', heads=['owl'], layers=[[-1]], lrs=[1e-3], pooled=[False, True])]
data = dict(train=dict(image_size=image_size), val=dict(image_size=image_size))
train_batch_size = 2
val_batch_size = 2
num_workers = 0
schedule = dict(max_iters=2, warmup_iters=1, checkpoint_interval=2, log_interval=1)
work_dir = 'work_dirs/det/lvis_owl_test-64_norare_smoke'

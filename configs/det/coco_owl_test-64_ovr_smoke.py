# Smoke variant of coco_owl_siglip2-*_ovr.py on the real COCO layout: the 'test' towers, a 4-image fixture
# (python -m dense.datasets.detection_fixtures coco work_dirs/fixtures/coco_det), two iterations; seconds on CPU.
_base_ = ['_base_/coco_ovr.py']
encoder = dict(name='test', weights=None)
data_root = 'work_dirs/fixtures/coco_det'
image_size = 64
tasks = dict(det=dict(classes=data_root + '/annotations/instances_val2017.json'))
probes = [dict(task='det', heads=['owl'], layers=[[-1]], lrs=[1e-3], pooled=[False, True])]
data = dict(train=dict(image_size=image_size), val=dict(image_size=image_size))
train_batch_size = 2
val_batch_size = 2
num_workers = 0
schedule = dict(max_iters=2, warmup_iters=1, checkpoint_interval=2, log_interval=1)
work_dir = 'work_dirs/det/coco_owl_test-64_ovr_smoke'

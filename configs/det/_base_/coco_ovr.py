# COCO open-vocabulary detection (OVR-CNN split: train on 48 base classes, evaluate the 65 base + novel; AP50 on
# the novel classes is the split's headline number), OWL-ViT protocol on a frozen encoder: letterboxed 768 px input
# (OWL-ViT B/16's size), random prompts and negatives in training, 7-template ensemble and top 300 at evaluation.
# Constants from scenic configs/clip_b16.py where a frozen-backbone head can use them (focal 0.3 / 2, L1 1, GIoU
# 1, grad-norm clip 1); the schedule is ours (scenic trains 140k steps at batch 256 end to end).
# Another data_root: set tasks.det.classes (the annotation file the class names come from) too.
data_root = 'data/coco'
image_size = 768
ann = data_root + '/annotations/instances_val2017.json'
tasks = dict(det=dict(classes=ann, ov_split='coco_ovr', num_negatives=0))
probes = [dict(task='det', heads=['owl'], layers=[[-1]], lrs=[1e-3, 3e-4], pooled=[False, True])]
data = dict(
    train=dict(type='coco_detection', root='{data_root}', split='train2017', image_size=image_size,
               ov_split='coco_ovr', train=True, augment=dict(flip=True)),
    val=dict(type='coco_detection', root='{data_root}', split='val2017', image_size=image_size, ov_split='coco_ovr'),
)
train_batch_size = 16
val_batch_size = 8
num_workers = 4
clip_grad = dict(max_norm=1.0)
schedule = dict(max_iters=20000, warmup_iters=1000, policy='cosine', checkpoint_interval=2000, log_interval=50)
seed = 0

# The README's demo: a random-init 'tiny' SigLIP 2-architecture encoder on 224 px embedded scenes.
# A linear segmentation probe (TIPS protocol, last layer) trained briefly; ~1-2 min of the demo on 2 CPU cores.
encoder = dict(name='tiny', weights=None)
tasks = dict(seg=dict(num_classes=6, class_names=['ground', 'sphere', 'box', 'cylinder', 'cone', 'capsule']))
probes = [
    dict(task='seg', heads=['linear'], layers=[[-1]], lrs=[3e-3]),
]
data = dict(
    train=dict(type='scenes', split='train', size=(224, 224), num=160,
               augment=dict(crop_size=(224, 224), scale_range=(0.75, 1.25), flip=True)),
    val=dict(type='scenes', split='val', size=(224, 224), num=24),
)
train_batch_size = 8
val_batch_size = 8
num_workers = 0
schedule = dict(max_iters=120, warmup_iters=12, policy='cosine', checkpoint_interval=120, log_interval=10)
seed = 0
work_dir = 'work_dirs/demo/probes'

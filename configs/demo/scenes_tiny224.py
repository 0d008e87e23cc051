# The demo with a random-init 'tiny' SigLIP 2-architecture encoder on the embedded scenes (the base of the README's
# demo, configs/demo/scenes_scenes-sigmoid-64.py, which swaps in the shipped scene-trained encoder at 64 px).
# Feature figures at 224 px (the demo renders them itself); probes trained briefly at 128 px from one encoder
# forward per batch: a linear segmentation probe (TIPS protocol, last layer), DPT depth and DPT normal probes.
encoder = dict(name='tiny', weights=None)
tasks = dict(
    seg=dict(num_classes=6, class_names=['ground', 'sphere', 'box', 'cylinder', 'cone', 'capsule']),
    # scene depth spans ~1-21 m: bins and the loss's depth cut-off go to 25 m
    depth=dict(min_depth=1e-3, max_depth=25.0, loss_max_depth=25.0),
    normals=dict(uncertainty=True),
)
_dpt = dict(dpt=dict(hidden_dim=64, reassemble_dims=(32, 64, 96, 128)))
probes = [
    dict(task='seg', heads=['linear'], layers=[[-1]], lrs=[3e-3]),
    dict(task='depth', heads=['dpt'], layers=['default'], lrs=[2e-3], head_opts=_dpt),
    dict(task='normals', heads=['dpt'], layers=['default'], lrs=[2e-3], head_opts=_dpt),
]
data = dict(
    train=dict(type='scenes', split='train', size=(128, 128), num=240,
               augment=dict(crop_size=(128, 128), scale_range=(1.0, 1.0), flip=True)),
    val=dict(type='scenes', split='val', size=(128, 128), num=24),
)
feature_figures = dict(size=(224, 224), num_images=6)
train_batch_size = 8
val_batch_size = 8
num_workers = 0
optimizer = dict(weight_decay=1e-2)
schedule = dict(max_iters=120, warmup_iters=12, policy='cosine', checkpoint_interval=120, log_interval=20)
seed = 0
log_level = 'WARNING'  # progress bars, not mmengine's environment dump
work_dir = 'work_dirs/demo/probes'

# The geometry check on the embedded scenes (`python -m probes.experiments.geo_scenes`): DPT depth and normal
# probes on the random-init 'tiny' encoder at 96 px, trained together from one encoder forward per batch.
encoder = dict(name='tiny', weights=None)
# scene depth spans ~1-21 m: bins and the loss's depth cut-off go to 25 m
tasks = dict(depth=dict(min_depth=1e-3, max_depth=25.0, loss_max_depth=25.0), normals=dict(uncertainty=True))
_dpt = dict(dpt=dict(hidden_dim=64, reassemble_dims=(32, 64, 96, 128)))
probes = [
    dict(task='depth', heads=['dpt'], layers=['default'], lrs=[2e-3], head_opts=_dpt),
    dict(task='normals', heads=['dpt'], layers=['default'], lrs=[2e-3], head_opts=_dpt),
]
data = dict(
    train=dict(type='scenes', split='train', size=(96, 96), num=400,
               augment=dict(crop_size=(96, 96), scale_range=(1.0, 1.0), flip=True)),
    val=dict(type='scenes', split='val', size=(96, 96), num=16),
    test=dict(type='scenes', split='test', size=(96, 96), num=40),
)
train_batch_size = 8
val_batch_size = 8
optimizer = dict(weight_decay=1e-2)
schedule = dict(max_iters=150, warmup_iters=15, policy='cosine', checkpoint_interval=150, log_interval=50)
seed = 0
work_dir = 'work_dirs/joint/scenes_depth_normals_dpt_tiny96'

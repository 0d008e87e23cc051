# Smoke run (seconds on CPU): segmentation, depth and normals probes trained together on the embedded scenes,
# one frozen 'test'-encoder forward per batch feeding all of them.
encoder = dict(name='test', weights=None)
tasks = dict(seg=dict(num_classes=6), depth=dict(min_depth=1e-3, max_depth=25.0, loss_max_depth=25.0),
             normals=dict(uncertainty=True))
_dpt = dict(dpt=dict(hidden_dim=16, reassemble_dims=(8, 8, 16, 16)))
probes = [
    dict(task='seg', heads=['linear'], layers=[[-1]], lrs=[1e-3]),
    dict(task='depth', heads=['linear', 'dpt'], layers=['default'], lrs=[5e-4], head_opts=_dpt),
    dict(task='normals', heads=['dpt'], layers=['default'], lrs=[5e-4], head_opts=_dpt),
]
data = dict(
    train=dict(type='scenes', split='train', size=(64, 64), num=8),
    val=dict(type='scenes', split='val', size=(64, 64), num=4),
    test=dict(type='scenes', split='test', size=(64, 64), num=4),
)
train_batch_size = 4
val_batch_size = 2
optimizer = dict(weight_decay=1e-2)
schedule = dict(max_iters=4, warmup_iters=1, policy='cosine', checkpoint_interval=4, log_interval=2)
seed = 0
work_dir = 'work_dirs/joint/scenes_seg_depth_normals_test64_smoke'

# Smoke run (seconds on CPU): the 'test' encoder on 64 px embedded scenes, a 2 x 2 linear grid and a DPT probe.
encoder = dict(name='test', weights=None)
tasks = dict(seg=dict(num_classes=6))
probes = [
    dict(task='seg', heads=['linear'], layers=[[-1], 'default'], lrs=[1e-2, 1e-3]),
    dict(task='seg', heads=['dpt'], layers=['default'], lrs=[1e-3],
         head_opts=dict(dpt=dict(hidden_dim=16, reassemble_dims=(8, 8, 16, 16)))),
]
data = dict(
    train=dict(type='scenes', split='train', size=(64, 64), num=16,
               augment=dict(crop_size=(64, 64), scale_range=(0.75, 1.25), flip=True)),
    val=dict(type='scenes', split='val', size=(64, 64), num=4),
    test=dict(type='scenes', split='test', size=(64, 64), num=4),
)
train_batch_size = 4
val_batch_size = 2
schedule = dict(max_iters=6, warmup_iters=2, policy='cosine', checkpoint_interval=2, log_interval=2)
seed = 0
work_dir = 'work_dirs/seg/scenes_linear_dpt_test64_smoke'

# Smoke run (seconds on CPU): uncertainty-aware normal probes (linear and DPT) on the embedded scenes.
encoder = dict(name='test', weights=None)
tasks = dict(normals=dict(uncertainty=True))
probes = [dict(task='normals', heads=['linear', 'dpt'], layers=['default'], lrs=[5e-4],
               head_opts=dict(dpt=dict(hidden_dim=16, reassemble_dims=(8, 8, 16, 16))))]
data = dict(
    train=dict(type='scenes', split='train', size=(64, 64), num=8),
    val=dict(type='scenes', split='val', size=(64, 64), num=4),
)
train_batch_size = 4
val_batch_size = 2
optimizer = dict(weight_decay=1e-2)
schedule = dict(max_iters=4, warmup_iters=1, policy='cosine', checkpoint_interval=4, log_interval=2)
seed = 0
work_dir = 'work_dirs/normals/scenes_linear_dpt_test64_smoke'

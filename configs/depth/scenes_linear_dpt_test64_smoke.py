# Smoke run (seconds on CPU): 256-bin depth probes (linear and DPT) on the embedded scenes, 'test' encoder.
encoder = dict(name='test', weights=None)
tasks = dict(depth=dict(min_depth=1e-3, max_depth=25.0, loss_max_depth=25.0))  # scene depth spans ~1-21 m
probes = [dict(task='depth', heads=['linear', 'dpt'], layers=['default'], lrs=[5e-4],
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
work_dir = 'work_dirs/depth/scenes_linear_dpt_test64_smoke'

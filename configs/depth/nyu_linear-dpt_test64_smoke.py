_base_ = ['_base_/nyu_probe3d.py']
# Smoke variant of the nyu_probe3d depth configs (seconds on CPU): 'test' encoder, 64 px, 2 iterations.
encoder = dict(name='test', weights=None)
probes = [dict(task='depth', heads=['probe3d_linear', 'probe3d_dpt'], layers=['default'], lrs=[5e-4],
               head_opts=dict(probe3d_dpt=dict(hidden_dim=16)))]
data = dict(train=dict(size=(64, 64), augment=dict(random_resized_crop=dict(size=(64, 64)))), val=dict(size=(64, 64)))
train_batch_size = 2
val_batch_size = 2
schedule = dict(max_iters=2, warmup_iters=1, checkpoint_interval=2, log_interval=1)
work_dir = 'work_dirs/depth/nyu_linear-dpt_test64_smoke'

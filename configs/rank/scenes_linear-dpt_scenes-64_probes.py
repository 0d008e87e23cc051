# The probe grid of the ranking (configs/rank/scenes_rank_scenes-64.py): segmentation (linear and DPT), depth (DPT)
# and normals (DPT) on 64 px embedded scenes, trained from one frozen forward per batch; sized for a shared CPU.
# The ranking sets `encoder` and `seed` per run; 'scenes' encoders have 6 blocks: the DPT heads read 1, 2, 4, 5.
encoder = dict(name='scenes', weights=None)
tasks = dict(seg=dict(num_classes=6, class_names=['ground', 'sphere', 'box', 'cylinder', 'cone', 'capsule']),
             depth=dict(min_depth=1e-3, max_depth=25.0, loss_max_depth=25.0), normals=dict(uncertainty=True))
_layers = [[1, 2, 4, 5]]
_dpt = dict(dpt=dict(hidden_dim=16, reassemble_dims=(8, 16, 16, 16)))
probes = [
    dict(task='seg', heads=['linear'], layers=[[-1]], lrs=[1e-2]),
    dict(task='seg', heads=['dpt'], layers=_layers, lrs=[2e-3], head_opts=_dpt),
    dict(task='depth', heads=['dpt'], layers=_layers, lrs=[2e-3], head_opts=_dpt),
    dict(task='normals', heads=['dpt'], layers=_layers, lrs=[2e-3], head_opts=_dpt),
]
data = dict(
    train=dict(type='scenes', split='train', size=(64, 64), num=256),
    val=dict(type='scenes', split='val', size=(64, 64), num=16),
    test=dict(type='scenes', split='test', size=(64, 64), num=32),
)
train_batch_size = 8
val_batch_size = 16
num_workers = 0
optimizer = dict(weight_decay=1e-2)
schedule = dict(max_iters=160, warmup_iters=8, policy='cosine', checkpoint_interval=160, log_interval=40)
seed = 0
work_dir = 'work_dirs/rank/scenes_linear-dpt_scenes-64_probes'

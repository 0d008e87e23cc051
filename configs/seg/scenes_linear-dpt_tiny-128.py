# The "must show" run: random-init 'tiny' encoder on 128 px embedded scenes; a linear grid (lr x layers x pooled)
# and a DPT grid trained from one encoder forward per batch; best of each chosen on val, reported on test.
# python -m probes.experiments.seg_scenes   (adds the majority-class baseline; a few minutes on 2 CPU cores)
encoder = dict(name='tiny', weights=None)
tasks = dict(seg=dict(num_classes=6, class_names=['ground', 'sphere', 'box', 'cylinder', 'cone', 'capsule']))
probes = [
    dict(task='seg', heads=['linear'], layers=[[-1], 'default'], lrs=[1e-2, 3e-3, 1e-3], pooled=[False, True]),
    dict(task='seg', heads=['dpt'], layers=['default'], lrs=[3e-3, 1e-3],
         head_opts=dict(dpt=dict(hidden_dim=64, reassemble_dims=(32, 64, 64, 64)))),
]
data = dict(
    train=dict(type='scenes', split='train', size=(128, 128), num=400,
               augment=dict(crop_size=(128, 128), scale_range=(0.75, 1.5), flip=True)),
    val=dict(type='scenes', split='val', size=(128, 128), num=48),
    test=dict(type='scenes', split='test', size=(128, 128), num=96),
)
train_batch_size = 8
val_batch_size = 8
num_workers = 1
schedule = dict(max_iters=300, warmup_iters=30, policy='cosine', checkpoint_interval=150, log_interval=50)
seed = 0
work_dir = 'work_dirs/seg/scenes_linear-dpt_tiny-128'

# Smoke size of the ranking's probes (seconds on CPU): linear segmentation and depth probes on few scenes.
_base_ = ['./scenes_linear-dpt_scenes-64_probes.py']
probes = [dict(task='seg', heads=['linear'], layers=[[-1]], lrs=[1e-2]),
          dict(task='depth', heads=['linear'], layers=[[-1]], lrs=[1e-2])]
data = dict(
    train=dict(type='scenes', split='train', size=(64, 64), num=48),
    val=dict(type='scenes', split='val', size=(64, 64), num=8),
    test=dict(type='scenes', split='test', size=(64, 64), num=24),
)
schedule = dict(max_iters=30, warmup_iters=3, policy='cosine', checkpoint_interval=30, log_interval=30)
work_dir = 'work_dirs/rank/scenes_linear_scenes-64_probes_smoke'

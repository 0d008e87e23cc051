# Smoke size of the ranking check (tests/test_ranking.py): random-init vs the shipped scenes-sigmoid encoder,
# linear segmentation and depth probes, two seeds.
_base_ = ['./scenes_rank_scenes-64.py']
encoders = [dict(label='random-init', name='scenes'), dict(label='scenes-sigmoid', name='scenes-sigmoid')]
seeds = [0, 1]
probes = [dict(config='configs/rank/scenes_linear_scenes-64_probes_smoke.py')]
evaluations = []
metrics = [dict(key='seg/linear/mIoU', better='max'), dict(key='depth/linear/rmse', better='min')]
compare = [('scenes-sigmoid', 'random-init')]
work_dir = 'work_dirs/rank/scenes_rank_scenes-64_smoke'

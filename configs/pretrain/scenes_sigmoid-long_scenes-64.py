# The sigmoid recipe at twice the steps over 3.75 times the scenes (12,000 steps of 32 over 30,000 pretraining
# scenes; shipped scenes-sigmoid: 6,000 over 8,000): does scale alone teach the image tower shape? (docs/encoders.md)
#   sprobe pretrain configs/pretrain/scenes_sigmoid-long_scenes-64.py
_base_ = ['./scenes_sigmoid_scenes-64.py']
data = dict(num_scenes=30000, cache='work_dirs/pretrain/scenes-64-30000.npz')
max_iters = 12000
checkpoint_interval = 1000
work_dir = 'work_dirs/pretrain/scenes_sigmoid-long_scenes-64'

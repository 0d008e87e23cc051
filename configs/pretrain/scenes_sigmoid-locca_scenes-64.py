# The sigmoid recipe plus SigLIP 2's LocCa decoder losses (captioning, automatic referring expression, grounded
# captioning; dense/pretrain/locca.py) from the first step, as SigLIP 2: same scenes, captions, towers and schedule
# as the sigmoid recipe; the decoder (2 layers, width 128) reads the image tower's unpooled final tokens.
#   sprobe pretrain configs/pretrain/scenes_sigmoid-locca_scenes-64.py
_base_ = ['./scenes_sigmoid_scenes-64.py']
recipe = 'sigmoid+locca'
locca = dict(weight=1.0, width=128, layers=2, heads=2, bins=32, length=24, tasks=('cap', 'aref', 'gcap'))
work_dir = 'work_dirs/pretrain/scenes_sigmoid-locca_scenes-64'

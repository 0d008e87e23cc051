# The scenes referring run with the shipped scene-trained towers (dense/encoders/shipped, sha256-checked; image and
# text tower of the same name) instead of random-init 'tiny' ones, at their native 64 px (patch 8: the same 8 x 8
# grid as 'tiny' at 128 px). The second half of the must-show claim ("with the scene-trained encoder the margin
# widens"): python -m dense.cli ref-scenes --config configs/ref/scenes_decoder-baselines_scenes-sigmoid-64.py
# (add --cfg-options encoder.name=scenes-dense for the other shipped encoder).
_base_ = './scenes_decoder-baselines_tiny-224.py'
encoder = dict(name='scenes-sigmoid', weights=None)  # weights=None: the shipped ones
data = dict(train=dict(size=(64, 64)), val=dict(size=(64, 64)), test=dict(size=(64, 64)))
work_dir = 'work_dirs/ref/scenes_decoder-baselines_scenes-sigmoid-64'

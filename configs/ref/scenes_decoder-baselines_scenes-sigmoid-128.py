# The scenes referring run with the shipped scene-trained towers (dense/encoders/shipped, sha256-checked; image and
# text tower of the same name) instead of random-init 'tiny' ones, at 128 px: patch 8 gives a 16 x 16 grid (the
# towers were trained at 64 px; their position embeddings are interpolated). At the native 64 px (8 x 8 patches, a
# referred object ~1.5 patches wide) every box head is less precise: --cfg-options "data.train.size=[64,64]"
# "data.val.size=[64,64]" "data.test.size=[64,64]". The second half of the must-show claim ("with the scene-trained
# encoder the margin widens"):
#   python -m dense.cli ref-scenes --config configs/ref/scenes_decoder-baselines_scenes-sigmoid-128.py
# (add --cfg-options encoder.name=scenes-dense for the other shipped encoder).
_base_ = './scenes_decoder-baselines_tiny-224.py'
encoder = dict(name='scenes-sigmoid', weights=None)  # weights=None: the shipped ones
data = dict(train=dict(size=(128, 128)), val=dict(size=(128, 128)), test=dict(size=(128, 128)))
schedule = dict(max_iters=2000, checkpoint_interval=2000)
work_dir = 'work_dirs/ref/scenes_decoder-baselines_scenes-sigmoid-128'

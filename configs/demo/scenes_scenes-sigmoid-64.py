# The README's demo (sprobe demo): the shipped scene-trained encoder (dense/encoders/shipped, sha256-checked); the
# random-init 'tiny' one: sprobe demo --config configs/demo/scenes_tiny224.py. Probes train at 64 px, the encoder's native
# size (TIPS's DPT decoder predicts at 8x the patch grid, i.e. at full resolution for patch 8); the scenes encoders
# have 6 blocks, so the DPT heads read the last four.
_base_ = './scenes_tiny224.py'
encoder = dict(name='scenes-sigmoid', weights=None)  # weights=None: the shipped ones
_layers = [[-4, -3, -2, -1]]
_dpt = dict(dpt=dict(hidden_dim=64, reassemble_dims=(32, 64, 96, 128)))
probes = [
    dict(task='seg', heads=['linear'], layers=[[-1]], lrs=[3e-3]),
    dict(task='depth', heads=['dpt'], layers=_layers, lrs=[2e-3], head_opts=_dpt),
    dict(task='normals', heads=['dpt'], layers=_layers, lrs=[2e-3], head_opts=_dpt),
]
data = dict(train=dict(size=(64, 64), augment=dict(crop_size=(64, 64))), val=dict(size=(64, 64)))
feature_figures = dict(size=(128, 128), num_images=6)  # a 16 x 16 patch grid for the similarity / PCA maps
work_dir = 'work_dirs/demo/probes'

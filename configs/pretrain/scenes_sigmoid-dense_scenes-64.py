# The sigmoid + dense recipe (SigLIP 2's additions: SILC local-to-global self-distillation with an EMA teacher and
# TIPS-style masked patch prediction, from 40 % of training) on the same scenes and model, with richer captions and
# 250 steps. Produces scenes-dense:
#   sprobe pretrain configs/pretrain/scenes_sigmoid-dense_scenes-64.py --ship scenes-dense
_base_ = ['./scenes_sigmoid_scenes-64.py']
recipe = 'sigmoid+dense'
data = dict(captions=dict(max_objects=2, p_relation=0.5))  # up to two objects, half of the pairs related
max_iters = 250
work_dir = 'work_dirs/pretrain/scenes_sigmoid-dense_scenes-64'

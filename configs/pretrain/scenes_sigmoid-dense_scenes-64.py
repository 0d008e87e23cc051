# The sigmoid + dense recipe (SigLIP 2's additions: SILC local-to-global self-distillation with an EMA teacher and
# TIPS-style masked patch prediction) on the same data, model and schedule. Produces scenes-dense:
#   sprobe pretrain configs/pretrain/scenes_sigmoid-dense_scenes-64.py --ship scenes-dense
_base_ = ['./scenes_sigmoid_scenes-64.py']
recipe = 'sigmoid+dense'
work_dir = 'work_dirs/pretrain/scenes_sigmoid-dense_scenes-64'

# The sigmoid + dense recipe (SigLIP 2's additions: SILC local-to-global self-distillation with an EMA teacher and
# TIPS-style masked patch prediction, from dense.start = 80 % of training, as SigLIP 2) on the same scenes, captions, model and
# schedule as the sigmoid recipe: only the recipe differs. Produces scenes-dense:
#   sprobe pretrain configs/pretrain/scenes_sigmoid-dense_scenes-64.py --ship scenes-dense
# Up to dense.start both recipes take identical steps (same seed, batches and schedule; the teacher's EMA runs in
# both), so the run may branch from the sigmoid run's checkpoint at that step, as the shipped one did:
#   cp work_dirs/pretrain/scenes_sigmoid_scenes-64/checkpoint-4800.pt \
#      work_dirs/pretrain/scenes_sigmoid-dense_scenes-64/checkpoint.pt
#   sprobe pretrain configs/pretrain/scenes_sigmoid-dense_scenes-64.py --resume --ship scenes-dense
_base_ = ['./scenes_sigmoid_scenes-64.py']
recipe = 'sigmoid+dense'
work_dir = 'work_dirs/pretrain/scenes_sigmoid-dense_scenes-64'

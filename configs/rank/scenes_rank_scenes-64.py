# The ranking check: random-init vs the shipped scene-pretrained encoders (sigmoid; sigmoid + dense), 3 seeds each,
# every probe of the probe configs (dense probes; detection; referring) and every registered training-free
# evaluation listed here (kNN, zero-shot, correspondence).
#   sprobe rank configs/rank/scenes_rank_scenes-64.py
encoders = [
    dict(label='random-init', name='scenes'),          # same architecture, seeded random weights
    dict(label='scenes-sigmoid', name='scenes-sigmoid'),  # shipped weights (sha256-checked)
    dict(label='scenes-dense', name='scenes-dense'),
]
seeds = [0, 1, 2]
probes = [dict(config='configs/rank/scenes_linear-dpt_scenes-64_probes.py'),
          dict(config='configs/rank/scenes_owl_scenes-128_det.py'),
          dict(config='configs/rank/scenes_ref_scenes-64_decoder.py')]
evaluations = [dict(config='configs/rank/scenes_knn_scenes-64_hbird.py'),
               dict(config='configs/rank/scenes_zeroshot_scenes-64.py'),
               dict(config='configs/rank/scenes_correspond_scenes-64_probe3d.py')]
metrics = [
    dict(key='seg/linear/mIoU', better='max'), dict(key='seg/dpt/mIoU', better='max'),
    dict(key='depth/dpt/rmse', better='min'),
    dict(key='normals/dpt/mean', better='min'), dict(key='knn/scenes/mIoU', better='max'),
    dict(key='zeroshot/scenes/naclip/mIoU', better='max'), dict(key='correspond/scenes/recall@10px_wide', better='max'),
    dict(key='det/owl/AP', better='max'), dict(key='ref/ref_decoder/Acc@0.5', better='max'),
]
compare = [('scenes-sigmoid', 'random-init'), ('scenes-dense', 'random-init'), ('scenes-dense', 'scenes-sigmoid')]
work_dir = 'work_dirs/rank/scenes_rank_scenes-64'

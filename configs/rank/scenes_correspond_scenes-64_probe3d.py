# Dense correspondence on 64 px embedded-scene pairs for the ranking (which sets the encoder and seed): Probe3D's
# matching on 48 val pairs orbited up to 60 degrees, recall at 5 / 10 / 20 px.
_base_ = ['../correspond/scenes_correspond_tiny-224_probe3d.py']
evaluation = dict(num_figures=0, data=dict(size=(64, 64), num=48))
work_dir = 'work_dirs/rank/scenes_correspond_scenes-64_probe3d'

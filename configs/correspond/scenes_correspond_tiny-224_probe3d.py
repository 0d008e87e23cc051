# The random-init 'tiny' encoder on 224 px embedded-scene pairs (no data to download): 100 pairs orbited up to
# 60 degrees, Probe3D's matching (1/4-scale points, 1,000 ratio-test matches), recall at 5 / 10 / 20 px.
encoder = dict(name='tiny', weights=None)
evaluation = dict(type='correspond', protocol='scenes', name='scenes', num_figures=4,
                  data=dict(type='scene_pairs', split='val', size=(224, 224), num=100, max_angle=60.0))
work_dir = 'work_dirs/correspond/scenes_correspond_tiny-224_probe3d'

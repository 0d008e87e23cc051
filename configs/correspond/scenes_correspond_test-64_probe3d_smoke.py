# Smoke run (seconds on CPU): geometric correspondence on embedded-scene pairs (two camera poses), 'test' encoder.
encoder = dict(name='test', weights=None)
evaluation = dict(type='correspond', protocol='scenes', name='scenes', num_figures=2,
                  data=dict(type='scene_pairs', split='val', size=(64, 64), num=6, max_angle=60.0))
work_dir = 'work_dirs/correspond/scenes_correspond_test-64_probe3d_smoke'

# Smoke run (seconds on CPU): zero-shot segmentation of 64 px embedded scenes by shape words, every method, with the
# random-init 'test' towers (numbers near chance: the scene-trained reference encoders are the ones to beat it).
encoder = dict(name='test', weights=None)
evaluation = dict(
    type='zeroshot', methods=['maskclip', 'sclip', 'clearclip', 'naclip'], templates='imagenet80',
    logit_scale=40.0, prob_thd=0.1, gaussian_std=5.0, num_figures=1,
    benchmarks=[dict(name='scenes', data=dict(type='scenes', split='val', size=(64, 64), num=6))],
)
work_dir = 'work_dirs/zeroshot/scenes_zeroshot_test-64_smoke'

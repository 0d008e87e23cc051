# Zero-shot segmentation of the embedded scenes by their class names ('ground' and the five shapes), every method,
# with the 'tiny' towers at 224 px. Random-init weights score near chance; pass the scene-trained reference encoders
# (--cfg-options encoder.weights=DIR) to see the methods work. Smoke variant: scenes_zeroshot_test-64_smoke.py.
encoder = dict(name='tiny', weights=None)
evaluation = dict(
    type='zeroshot', methods=['maskclip', 'sclip', 'clearclip', 'naclip'], templates='imagenet80',
    logit_scale=40.0, prob_thd=0.1, gaussian_std=5.0, num_figures=2,
    benchmarks=[dict(name='scenes', data=dict(type='scenes', split='val', size=(224, 224), num=48))],
)
work_dir = 'work_dirs/zeroshot/scenes_zeroshot_tiny-224'

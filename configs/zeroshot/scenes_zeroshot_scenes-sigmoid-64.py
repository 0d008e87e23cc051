# Zero-shot segmentation of 64 px embedded scenes by their class names with the shipped scene-trained encoder
# 'scenes-sigmoid' (image and text towers from one verified directory; sprobe pretrain ... --ship scenes-sigmoid);
# use encoder.name=scenes-dense for the dense-recipe one. Template 'a {}': the scene text tower learned
# captions ('a red cone on a striped floor'), not photo templates. Smoke variant: scenes_zeroshot_test-64_smoke.py.
encoder = dict(name='scenes-sigmoid', weights=None)
evaluation = dict(
    type='zeroshot', methods=['maskclip', 'sclip', 'clearclip', 'naclip'], templates=['a {}'],
    logit_scale=40.0, prob_thd=0.1, gaussian_std=5.0, num_figures=2,
    benchmarks=[dict(name='scenes', data=dict(type='scenes', split='val', size=(64, 64), num=200))],
)
work_dir = 'work_dirs/zeroshot/scenes_zeroshot_scenes-sigmoid-64'

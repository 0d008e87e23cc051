# Smoke variant of cityscapes_zeroshot_siglip2-b16-224.py: the random-init 'test' towers on the tiny fixture
# (python -m dense.datasets.fixtures cityscapes work_dirs/fixtures/cityscapes), images resized to a 64 px short side.
data_root = 'work_dirs/fixtures/cityscapes'
encoder = dict(name='test', weights=None)
evaluation = dict(
    type='zeroshot', methods=['maskclip', 'sclip', 'clearclip', 'naclip'], templates='short',
    logit_scale=40.0, prob_thd=0.1, gaussian_std=5.0, num_figures=1,
    benchmarks=[
        dict(name='city19', data=dict(type='seg_folder', kind='cityscapes', data_root=data_root, split='val'), short_side=64),
    ],
)
work_dir = 'work_dirs/zeroshot/cityscapes_zeroshot_test-64_smoke'

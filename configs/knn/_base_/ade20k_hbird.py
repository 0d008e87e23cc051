# Hummingbird in-context segmentation on ADE20K (150 classes, 0 = other ignored): memory from training (20,210
# images), queries from validation (2,000); settings as the VOC base (voc_hbird.py).
data_root = 'data/ade/ADEChallengeData2016'
evaluation = dict(
    type='knn', name='ade20k', input_size=224, memory_size=102_400, augmentation_epochs=2, k=30, temperature=0.02,
    search='exact', batch_size=64, seed=0, eval_size='label', num_figures=4,
    train=dict(type='seg_folder', kind='ade20k', data_root=data_root, split='train'),
    val=dict(type='seg_folder', kind='ade20k', data_root=data_root, split='val'),
)

# Smoke run (seconds on CPU): Hummingbird kNN segmentation with the 'test' encoder on 64 px embedded scenes.
encoder = dict(name='test', weights=None)
evaluation = dict(
    type='knn', name='scenes', input_size=64, memory_size=2048, augmentation_epochs=2, k=30, temperature=0.02,
    search='exact', batch_size=8, seed=0, num_figures=2,
    train=dict(type='scenes', split='train', size=(64, 64), num=32),
    val=dict(type='scenes', split='val', size=(64, 64), num=6),
)
work_dir = 'work_dirs/knn/scenes_knn_test-64_hbird_smoke'

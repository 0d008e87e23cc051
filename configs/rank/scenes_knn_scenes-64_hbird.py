# Hummingbird kNN segmentation on 64 px embedded scenes, for the ranking (which sets the encoder and seed).
encoder = dict(name='scenes', weights=None)
evaluation = dict(
    type='knn', name='scenes', input_size=64, memory_size=2048, augmentation_epochs=1, k=30, temperature=0.02,
    search='exact', batch_size=16, seed=0, num_figures=0,
    train=dict(type='scenes', split='train', size=(64, 64), num=32),
    val=dict(type='scenes', split='val', size=(64, 64), num=16),
)
work_dir = 'work_dirs/rank/scenes_knn_scenes-64_hbird'

# The random-init 'tiny' encoder on 224 px embedded scenes (no data to download): 300 memory scenes x 2
# augmentation epochs under a 102,400-patch budget, 100 query scenes; minutes on CPU.
encoder = dict(name='tiny', weights=None)
evaluation = dict(
    type='knn', name='scenes', input_size=224, memory_size=102_400, augmentation_epochs=2, k=30, temperature=0.02,
    search='exact', batch_size=32, seed=0, num_figures=4,
    train=dict(type='scenes', split='train', size=(224, 224), num=300),
    val=dict(type='scenes', split='val', size=(224, 224), num=100),
)
work_dir = 'work_dirs/knn/scenes_knn_tiny-224_hbird'

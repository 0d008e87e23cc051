# Hummingbird in-context segmentation on PASCAL VOC 2012 (open-hummingbird-eval, hbird/hbird_eval.py): memory from
# trainaug (train + SBD, 10,582 images), queries from val (1,449); 224 px, k = 30, softmax temperature 0.02, two
# augmentation epochs (the reference README's setting), exact search; plain mIoU (+ Hungarian-matched beside it).
data_root = 'data/VOCdevkit/VOC2012'
evaluation = dict(
    type='knn', name='voc', input_size=224, memory_size=102_400, augmentation_epochs=2, k=30, temperature=0.02,
    search='exact', batch_size=64, seed=0, eval_size='label', num_figures=4,
    train=dict(type='seg_folder', kind='voc', data_root=data_root, split='train', sbd=True),
    val=dict(type='seg_folder', kind='voc', data_root=data_root, split='val'),
)

# NYUv2 depth in mmsegmentation's layout with mmseg's NYU data recipe (card: docs/protocols.md#nyu-mmseg;
# mmseg configs/_base_/datasets/nyu.py): images/{train,test}/*.jpg + annotations/{train,test}/*.png (uint16 mm);
# training: RandomCrop 480 x 480 of the full 480 x 640 frame + RandomFlip 0.5 (mmseg's RandomDepthMix and Albu
# colour pieces are not reproduced); evaluation on the full 480 x 640 frame inside nyu_crop [45:471, 41:601],
# depth 0.001-10 m, averaged per image (mmseg DepthMetric). mmseg ships no frozen-probe recipe: the probes,
# optimiser and schedule are Probe3D's (raw layers, its DPT / linear heads, AdamW 5e-4, 10 epochs, its schedule).
data_root = 'data/nyu'
batch = 8
tasks = dict(depth=dict(min_depth=1e-3, max_depth=10.0, aggregation='per_image', align_corners=True,
                       eigen_crop=True))
data = dict(
    train=dict(type='nyu_mmseg', root=data_root, split='train', center_crop=False,
               augment=dict(crop_size=(480, 480), flip=True)),
    val=dict(type='nyu_mmseg', root=data_root, split='test', center_crop=False),
)
features = dict(norm_layers=False, preprocess='encoder', center_pad=True)
train_batch_size = batch
val_batch_size = 8
optimizer = dict(weight_decay=1e-2)
schedule = dict(epochs=10, warmup_epochs=1.5, policy='probe3d', log_interval=50)
seed = 0

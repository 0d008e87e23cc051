# Probe3D NYUv2 depth protocol (El Banani et al., CVPR 2024; mbanani/probe3d; card: docs/protocols.md#probe3d):
# trained on the GeoNet NYU set (train_depth.py: split 'trainval', not shuffled on one GPU), tested on the 654
# labelled images, 480 x 480 centre crop; SigLIP 2's own [-1, 1] input (features.preprocess='probe3d': Probe3D's
# ImageNet mean / std, to reproduce its published SigLIP numbers); /14 encoders get the 480 px crop zero-padded
# to 490 (evals/models/utils.py center_padding); raw block outputs;
# augmentation: ColorJitter(0.2, 0.2, 0.2, 0.2) p 0.8 + RandomResizedCrop(480, scale 0.5-1, ratio 1, p 0.5,
# nearest) (evals/datasets/utils.py get_nyu_transforms); AdamW lr 5e-4 (weight decay 0.01), batch 8, 10 epochs,
# cosine_decay_linear_warmup (1.5 warm-up epochs, from and to 0.01 of the peak; evals/utils/optim.py).
# Layout: the test pickle of data_processing/create_nyu_pkl.py and the GeoNet .mat files.
data_root = 'data/nyu_probe3d'
batch = 8
tasks = dict(depth=dict(min_depth=1e-3, max_depth=10.0, aggregation='per_image', align_corners=True))
jitter = dict(brightness=0.2, contrast=0.2, saturation=0.2, hue=0.2, p=0.8)
augment = dict(color_jitter=jitter,
               random_resized_crop=dict(size=(480, 480), scale=(0.5, 1.0), ratio=(1.0, 1.0), p=0.5))
data = dict(
    train=dict(type='nyu_probe3d', path=data_root + '/geonet', split='trainval', center_crop=True, augment=augment),
    val=dict(type='nyu_probe3d', path=data_root + '/nyuv2_snorm_all.pkl', split='test', center_crop=True),
)
features = dict(norm_layers=False, preprocess='encoder', center_pad=True)
train_batch_size = batch
train_shuffle = False
val_batch_size = 8
optimizer = dict(weight_decay=1e-2)
# epochs are turned into iterations with the training set's actual size (probes.train.runner.resolve_schedule)
schedule = dict(epochs=10, warmup_epochs=1.5, policy='probe3d', log_interval=50)
seed = 0

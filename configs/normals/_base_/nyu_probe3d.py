# Probe3D NYUv2 surface-normal protocol (El Banani et al., CVPR 2024; github.com/mbanani/probe3d): trained on
# the GeoNet NYU set (GeoNet normals), tested on the 654 labelled images (Ladicky normals), 480 x 480 centre crop,
# normals valid where depth > 0; Bae et al.'s uncertainty-aware angular loss, 4 output channels; AdamW lr 5e-4
# (torch's default weight decay 0.01), batch 8, 10 epochs, 1.5 warm-up epochs, cosine decay; angular metrics per
# image then averaged (Probe3D).
data_root = 'data/nyu_probe3d'
batch = 8
tasks = dict(normals=dict(uncertainty=True, aggregation='per_image'))
data = dict(
    train=dict(type='nyu_probe3d', path='{data_root}/geonet', split='trainval', center_crop=True),
    val=dict(type='nyu_probe3d', path='{data_root}/nyuv2_snorm_all.pkl', split='test', center_crop=True),
)
train_batch_size = batch
val_batch_size = 8
optimizer = dict(weight_decay=1e-2)
# epochs are turned into iterations with the training set's actual size (probes.train.runner.resolve_schedule)
schedule = dict(epochs=10, warmup_epochs=1.5, policy='cosine', log_interval=50)
seed = 0

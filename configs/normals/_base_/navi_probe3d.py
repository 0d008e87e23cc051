# Probe3D NAVI surface-normal protocol: train on the multiview scenes (every 4th view), test on the wild set;
# square box crop around the object resized to 512 x 512; normals from depth with the pinhole intrinsics;
# Bae et al.'s uncertainty-aware angular loss (4 output channels); optimiser and schedule as NYUv2.
# NAVI v1.0 layout: <root>/<object>/<scene>/{images,depth,annotations.json}.
data_root = 'data/navi_v1'
batch = 8
tasks = dict(normals=dict(uncertainty=True, aggregation='per_image'))
data = dict(
    train=dict(type='navi', root='{data_root}', split='trainval', size=(512, 512)),
    val=dict(type='navi', root='{data_root}', split='test', size=(512, 512)),
)
train_batch_size = batch
val_batch_size = 8
optimizer = dict(weight_decay=1e-2)
# epochs are turned into iterations with the training set's actual size (probes.train.runner.resolve_schedule)
schedule = dict(epochs=10, warmup_epochs=1.5, policy='cosine', log_interval=50)
seed = 0

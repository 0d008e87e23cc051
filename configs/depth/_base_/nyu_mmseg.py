# NYUv2 depth in mmsegmentation's layout (images/{train,test}/*.jpg + annotations/{train,test}/*.png, uint16 mm),
# with the Probe3D recipe: 480 x 480 centre crop, 256 bins over 0.001-10 m, 10 x SigLoss + 0.5 x gradient loss,
# AdamW 5e-4 (weight decay 0.01), batch 8, 10 epochs, 1.5 warm-up epochs, cosine; metrics per image (Probe3D).
data_root = 'data/nyu'
batch = 8
tasks = dict(depth=dict(min_depth=1e-3, max_depth=10.0, aggregation='per_image'))
data = dict(
    train=dict(type='nyu_mmseg', root='{data_root}', split='train', center_crop=True),
    val=dict(type='nyu_mmseg', root='{data_root}', split='test', center_crop=True),
)
train_batch_size = batch
val_batch_size = 8
optimizer = dict(weight_decay=1e-2)
# epochs are turned into iterations with the training set's actual size (probes.train.runner.resolve_schedule)
schedule = dict(epochs=10, warmup_epochs=1.5, policy='cosine', log_interval=50)
seed = 0

# NYUv2 depth in mmsegmentation's layout (images/{train,test}/*.jpg + annotations/{train,test}/*.png, uint16 mm),
# with the Probe3D recipe: 480 x 480 centre crop, 256 bins over 0.001-10 m, 10 x SigLoss + 0.5 x gradient loss,
# AdamW 5e-4 (weight decay 0.01), batch 8, 10 epochs, 1.5 warm-up epochs, cosine; metrics per image (Probe3D).
data_root = 'data/nyu'
train_images = 24231  # mmseg's NYU train split (BTS); set to len(NYUDepthMMSeg(data_root, 'train')) if yours differs
epochs, warmup_epochs, batch = 10, 1.5, 8
iters_per_epoch = -(-train_images // batch)
tasks = dict(depth=dict(min_depth=1e-3, max_depth=10.0, aggregation='per_image'))
data = dict(
    train=dict(type='nyu_mmseg', root=data_root, split='train', center_crop=True),
    val=dict(type='nyu_mmseg', root=data_root, split='test', center_crop=True),
)
train_batch_size = batch
val_batch_size = 8
optimizer = dict(weight_decay=1e-2)
schedule = dict(max_iters=epochs * iters_per_epoch, warmup_iters=int(warmup_epochs * iters_per_epoch),
                policy='cosine', checkpoint_interval=iters_per_epoch, log_interval=50)
seed = 0

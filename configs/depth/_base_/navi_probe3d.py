# Probe3D NAVI depth protocol (card: docs/protocols.md#probe3d): train on the multiview scenes
# ('trainval', every 4th view, not shuffled), test on the wild set; each view built as evals/datasets/navi.py
# does (EXIF, 512 short side + centre crop with nearest, box crop, compute_normal, nearest resize to 512 x 512;
# see dense/datasets/navi.py); ColorJitter(0.2, 0.2, 0.2, 0.2) p 0.8 on the ImageNet-normalised 512 px frame
# before the centre crop (get_navi_transforms); /14 encoders get the
# 512 px crop zero-padded to 518; raw block outputs; optimiser and schedule as NYUv2.
data_root = 'data/navi_v1'
batch = 8
tasks = dict(depth=dict(min_depth=1e-3, max_depth=1.0, aggregation='per_image', align_corners=True))
jitter = dict(brightness=0.2, contrast=0.2, saturation=0.2, hue=0.2, p=0.8, space='imagenet')  # after Normalize
data = dict(
    train=dict(type='navi', root=data_root, split='trainval', size=(512, 512), augment=dict(color_jitter=jitter)),
    val=dict(type='navi', root=data_root, split='test', size=(512, 512)),
)
features = dict(norm_layers=False, preprocess='encoder', center_pad=True)
train_batch_size = batch
train_shuffle = False
val_batch_size = 8
optimizer = dict(weight_decay=1e-2)
schedule = dict(epochs=10, warmup_epochs=1.5, policy='probe3d', log_interval=50)
seed = 0

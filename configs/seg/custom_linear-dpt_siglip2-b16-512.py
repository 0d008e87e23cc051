# Your own segmentation data (seg_custom: an image folder, a mask folder with the same file names, a class list
# and optionally a palette), SigLIP 2 / TIPS protocol (linear with MAP output + DPT), SigLIP 2 b16 at 512 px.
# Point data_root at your data (or --cfg-options data_root=DIR) and edit classes / palette; see docs/usage.md.
_base_ = ['../_base_/protocol_siglip2.py']
encoder = dict(name='siglip2-b16-512', weights='google/siglip2-base-patch16-512')
data_root = 'data/my_dataset'
classes = ['background', 'road', 'car']  # mask value i = classes[i]; 255 = ignore
palette = [[0, 0, 0], [128, 64, 128], [0, 0, 142]]
tasks = dict(seg=dict(num_classes=len(classes)))
crop = 512
data = dict(
    train=dict(type='seg_custom', img_dir='{data_root}/train/images', ann_dir='{data_root}/train/masks',
               classes=classes, palette=palette,
               augment=dict(crop_size=(crop, crop), resize=crop, scale_range=(0.5, 2.0), flip=True)),
    val=dict(type='seg_custom', img_dir='{data_root}/val/images', ann_dir='{data_root}/val/masks',
             classes=classes, palette=palette, image_resize=crop),
)
inference = dict(mode='slide', crop_size=(crop, crop), stride=(crop * 2 // 3, crop * 2 // 3))
train_batch_size = 16
val_batch_size = 1
num_workers = 4
work_dir = 'work_dirs/seg/custom_linear-dpt_siglip2-b16-512'

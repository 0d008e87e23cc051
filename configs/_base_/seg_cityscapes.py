# Cityscapes fine (19 train ids, *_gtFine_labelTrainIds.png from cityscapesscripts, 255 ignored) at mmseg's standard
# (mmseg's datasets/cityscapes.py base config): training on the 1024 x 2048 frames rescaled by 0.5-2.0, random
# 512 x 1024 crop (cat_max_ratio 0.75), flip, photometric distortion; evaluation on the full 1024 x 2048 frames with
# slide inference (crop 512 x 1024, stride 341 x 683, mmseg's Cityscapes test_cfg).
data_root = 'data/cityscapes'
crop = (512, 1024)
tasks = dict(seg=dict(num_classes=19))
data = dict(
    train=dict(type='seg_folder', kind='cityscapes', data_root='{data_root}', split='train',
               augment=dict(crop_size=crop, resize=(1024, 2048), scale_range=(0.5, 2.0), flip=True,
                            cat_max_ratio=0.75, photometric=dict())),
    val=dict(type='seg_folder', kind='cityscapes', data_root='{data_root}', split='val', image_resize=(1024, 2048)),
)
inference = dict(mode='slide', crop_size=crop, stride=(341, 683))
train_batch_size = 16
val_batch_size = 1
num_workers = 4

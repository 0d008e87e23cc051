# LVIS v1 open-vocabulary detection (rare categories removed from training, all 1203 evaluated; APr is the novel
# number), OWL-ViT protocol on a frozen encoder: letterboxed 768 px, random prompts; every one of the ~866 base
# classes is queried in every batch, so they serve as each other's negatives (extra random names could leak rare
# ones); federated LVIS evaluation with 300 detections per image. Another data_root: set tasks.det.classes too.
data_root = 'data/coco'
image_size = 768
ann = data_root + '/annotations/lvis_v1_val.json'
tasks = dict(det=dict(classes=ann, ov_split='lvis_no_rare', num_negatives=0))
probes = [dict(task='det', heads=['owl'], layers=[[-1]], lrs=[1e-3, 3e-4], pooled=[False, True])]
data = dict(
    train=dict(type='coco_detection', root='{data_root}', split='train', format='lvis', image_size=image_size,
               ov_split='lvis_no_rare', train=True, augment=dict(flip=True)),
    val=dict(type='coco_detection', root='{data_root}', split='val', format='lvis', image_size=image_size,
             ov_split='lvis_no_rare'),
)
train_batch_size = 16
val_batch_size = 8
num_workers = 4
clip_grad = dict(max_norm=1.0)
schedule = dict(max_iters=40000, warmup_iters=1000, policy='cosine', checkpoint_interval=4000, log_interval=50)
seed = 0

# The "must show" run (python -m dense.cli det-scenes): random-init 'tiny' image and text towers on 128 px embedded
# scenes; OWL-ViT heads trained on three shapes (sphere, box, cylinder) and tested on all five (cone, capsule novel),
# with and without the pooled (MAP) token merge, one encoder forward per batch. The experiment adds the baseline
# that puts each class's mean training box in every image at a fixed score.
encoder = dict(name='tiny', weights=None)
negatives = ['pyramid', 'torus', 'wall', 'sky', 'person', 'car', 'tree', 'chair']
tasks = dict(det=dict(classes='scenes', ov_split='scenes_3_2', negatives=negatives, num_negatives=4, top_k=100))
probes = [dict(task='det', heads=['owl'], layers=['default'], lrs=[3e-3], pooled=[False, True])]
data = dict(
    train=dict(type='scenes_detection', split='train', image_size=128, num=400, ov_split='scenes_3_2', train=True,
               augment=dict(flip=True)),
    val=dict(type='scenes_detection', split='val', image_size=128, num=48, ov_split='scenes_3_2'),
    test=dict(type='scenes_detection', split='test', image_size=128, num=96, ov_split='scenes_3_2'),
)
train_batch_size = 8
val_batch_size = 8
num_workers = 0
schedule = dict(max_iters=400, warmup_iters=40, policy='cosine', checkpoint_interval=400, log_interval=50)
seed = 0
log_level = 'WARNING'
work_dir = 'work_dirs/det/scenes_owl_tiny-128_ov3of5'

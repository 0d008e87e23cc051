# Smoke run (seconds on CPU): the 'test' towers on 64 px scenes, the OWL head with and without the pooled merge
# and with the OWLv2 objectness head; three shapes trained, five evaluated.
encoder = dict(name='test', weights=None)
tasks = dict(det=dict(classes='scenes', ov_split='scenes_3_2', negatives=['pyramid', 'torus'], num_negatives=1))
probes = [dict(task='det', heads=['owl'], layers=[[-1]], lrs=[1e-3], pooled=[False, True],
               head_opts=dict(owl=dict(objectness=True)))]
data = dict(
    train=dict(type='scenes_detection', split='train', image_size=64, num=8, ov_split='scenes_3_2', train=True,
               augment=dict(flip=True)),
    val=dict(type='scenes_detection', split='val', image_size=64, num=4, ov_split='scenes_3_2'),
)
train_batch_size = 4
val_batch_size = 2
schedule = dict(max_iters=4, warmup_iters=1, checkpoint_interval=4, log_interval=2)
seed = 0
work_dir = 'work_dirs/det/scenes_owl_test-64_smoke'

# Smoke variant of scenes_decoder-baselines_tiny-224.py: the 'test' encoder and text tower, a few 64 px scenes,
# two iterations; seconds on CPU.
encoder = dict(name='test', weights=None)
tasks = dict(ref=dict())
probes = [dict(task='ref', heads=['ref_decoder', 'ref_similarity', 'ref_centre', 'ref_largest'], layers=[[-1]],
               lrs=[1e-3], head_opts=dict(ref_decoder=dict(depth=1, width=16, heads=2, box='mask')))]
data = dict(
    train=dict(type='ref_scenes', split='train', size=(64, 64), num=2),
    val=dict(type='ref_scenes', split='val', size=(64, 64), num=2),
    test=dict(type='ref_scenes', split='test', size=(64, 64), num=2),
)
train_batch_size = 4
val_batch_size = 8
num_workers = 0
schedule = dict(max_iters=2, warmup_iters=1, checkpoint_interval=2, log_interval=1)
seed = 0
work_dir = 'work_dirs/ref/scenes_decoder-baselines_test-64_smoke'

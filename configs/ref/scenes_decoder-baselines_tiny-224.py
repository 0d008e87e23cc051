# The "must show" run: random-init 'tiny' image encoder and text tower on 224 px embedded scenes (14 x 14 patches),
# one sample per referring expression (made on the fly); the decoder (depth 3 here; 6 in the RefCOCO protocol,
# trained with the task's localisation loss) against the similarity, centre-box and largest-object baselines, all
# from one encoder forward per batch; best of each family chosen on val, reported on test.
# python -m dense.cli ref-scenes   (exits non-zero unless the decoder beats every baseline)
encoder = dict(name='tiny', weights=None)
tasks = dict(ref=dict())
probes = [dict(task='ref', heads=['ref_decoder', 'ref_similarity', 'ref_centre', 'ref_largest'], layers=[[-1]],
               lrs=[1e-3], head_opts=dict(ref_decoder=dict(depth=3, width=128, heads=4, dropout=0.0, box='mask')))]
data = dict(
    train=dict(type='ref_scenes', split='train', size=(224, 224), num=2000),
    val=dict(type='ref_scenes', split='val', size=(224, 224), num=30),
    test=dict(type='ref_scenes', split='test', size=(224, 224), num=60),
)
train_batch_size = 32
val_batch_size = 64
num_workers = 0
# train from the feature cache: the frozen encoder runs once per training image (its ~8 expressions share that
# forward) instead of once per expression and step; float16, about 1.2 GB under work_dirs/cache
cache = dict(root='work_dirs/cache', views=1, dtype='float16', shard_size=512)
clip_grad = dict(max_norm=1.0)
schedule = dict(max_iters=3000, warmup_iters=40, policy='cosine', checkpoint_interval=3000, log_interval=100)
seed = 0
log_level = 'WARNING'
work_dir = 'work_dirs/ref/scenes_decoder-baselines_tiny-224'

# The referring probe of the ranking (which sets `encoder` and `seed`): the grounding decoder alone on 64 px
# embedded scenes (8 x 8 patches), 1,000 train scenes (~8,000 expressions), 1,000 iterations from the feature cache.
_base_ = ['../ref/scenes_decoder-baselines_tiny-224.py']
encoder = dict(name='scenes', weights=None)
probes = [dict(task='ref', heads=['ref_decoder'], layers=[[-1]], lrs=[1e-3],
               head_opts=dict(ref_decoder=dict(depth=3, width=128, heads=4, dropout=0.0, box='mask')))]
data = dict(train=dict(size=(64, 64), num=1000), val=dict(size=(64, 64)), test=dict(size=(64, 64)))
schedule = dict(max_iters=1000, checkpoint_interval=1000)
work_dir = 'work_dirs/rank/scenes_ref_scenes-64_decoder'

# Referring expressions, SigLIP 2 paper / LocCa protocol: a decoder trained from scratch on the frozen, unpooled
# patch tokens over all RefCOCO variants (big_vision refcocox_combined: train without any val / test image),
# Acc@0.5 per split. Our choices (docs/referring.md): the box is not decoded as text but made from the decoder's
# mask over the patches (the text-patch similarity map plus a learned residual; box='mask') and refined by
# regression (5 x L1 + 2 x GIoU, DETR, + 1 x the localisation cross-entropy on the target centre's patch + 1 x the
# mask's per-patch BCE); decoder 6 layers, width 256, 8 heads, queries = [REG] + text-tower tokens; last block;
# AdamW 1e-4.
tasks = dict(ref=dict())
probes = [dict(task='ref', heads=['ref_decoder', 'ref_similarity', 'ref_centre', 'ref_largest'], layers=[[-1]],
               lrs=[1e-4], head_opts=dict(ref_decoder=dict(depth=6, width=256, heads=8, query='tokens', box='mask')))]
data_root = 'data/refer'
size = (256, 256)
data = dict(
    train=dict(type='refcoco', root=data_root, splits='combined/train', size=size),
    val=dict(type='refcoco', root=data_root, splits=['refcoco/val', 'refcoco+/val', 'refcocog/val'], size=size),
    test=dict(type='refcoco', root=data_root, size=size,
              splits=['refcoco/testA', 'refcoco/testB', 'refcoco+/testA', 'refcoco+/testB', 'refcocog/test']),
)
train_batch_size = 64
val_batch_size = 64
num_workers = 8
optimizer = dict(weight_decay=1e-4)
clip_grad = dict(max_norm=0.1)
schedule = dict(epochs=10, warmup_epochs=0.5, policy='cosine', log_interval=100)
seed = 0

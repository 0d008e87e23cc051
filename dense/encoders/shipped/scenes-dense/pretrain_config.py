batch_size = 32
checkpoint_interval = 500
data = dict(
    cache='work_dirs/pretrain/scenes-64-8000.npz',
    captions=dict(max_objects=1, p_relation=0.0),
    num_scenes=8000,
    size=64)
dense = dict(
    local_crops=2,
    local_scale=(
        0.15,
        0.4,
    ),
    local_size=32,
    mask_ratio=(
        0.1,
        0.5,
    ),
    momentum=0.99,
    prototypes=256,
    start=0.8,
    tau_s=0.1,
    tau_t=0.04,
    weight_global=1.0,
    weight_masked=1.0)
duplicate_captions = 'positive'
log_interval = 50
max_iters = 6000
model = dict(
    text=dict(
        hidden_size=128,
        intermediate_size=512,
        max_position_embeddings=16,
        num_attention_heads=2,
        num_hidden_layers=2,
        vocab_size=384),
    variant='scenes')
optim = dict(clip=1.0, lr=0.0003, warmup=0.05, weight_decay=0.0001)
recipe = 'sigmoid+dense'
seed = 0
work_dir = 'work_dirs/pretrain/scenes_sigmoid-dense_scenes-64'

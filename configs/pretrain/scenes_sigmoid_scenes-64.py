# Scene pretraining of the 'scenes' architecture (SigLIP 2 image tower 128 wide, 6 blocks, patch 8 at 64 px, and a
# SigLIP text tower) with the SigLIP sigmoid loss only. Produces dense/encoders/shipped/scenes-sigmoid:
#   sprobe pretrain configs/pretrain/scenes_sigmoid_scenes-64.py --ship scenes-sigmoid
recipe = 'sigmoid'
model = dict(variant='scenes',
             text=dict(vocab_size=384, hidden_size=128, intermediate_size=512, num_hidden_layers=2,
                       num_attention_heads=2, max_position_embeddings=16))
# 16 text tokens, as SigLIP So400m/14 at 224 px (big_vision SigLIP_demo: SEQLEN 16); a caption fits in 16.
# The rendered scenes are cached once for both recipes; captions name the largest visible object (its size and
# colour each with probability 0.8) and the floor.
data = dict(num_scenes=8000, size=64, cache='work_dirs/pretrain/scenes-64-8000.npz',
            captions=dict(max_objects=1, p_relation=0.0))
# A small caption vocabulary repeats captions within a batch: identical captions are each other's positives
# (with SigLIP's diagonal labels they are contradictory negatives, and the loss stayed on its constant solution)
duplicate_captions = 'positive'
# used by the sigmoid+dense recipe only (SILC local-to-global distillation, TIPS masked patch prediction)
dense = dict(start=0.8, weight_global=1.0, weight_masked=1.0, local_crops=2, local_size=32, local_scale=(0.15, 0.4),
             mask_ratio=(0.1, 0.5), prototypes=256, momentum=0.99, tau_s=0.1, tau_t=0.04)
# logit bias starts at -ln(batch_size) (SigLIP's -10 is for 32k batches); lr 3e-4 with gradient clipping at 1
# (1e-3 without clipping never left the constant solution; measured in docs/encoders.md)
optim = dict(lr=3e-4, weight_decay=1e-4, warmup=0.05, clip=1.0)
batch_size = 32
max_iters = 6000
log_interval = 50
checkpoint_interval = 500
seed = 0
work_dir = 'work_dirs/pretrain/scenes_sigmoid_scenes-64'

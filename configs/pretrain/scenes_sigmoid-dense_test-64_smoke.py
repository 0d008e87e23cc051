# Smoke run (seconds on CPU): both losses of the sigmoid + dense recipe on the 'test' architecture, 4 steps.
_base_ = ['./scenes_sigmoid-dense_scenes-64.py']
model = dict(variant='test', text=dict(vocab_size=384, hidden_size=32, intermediate_size=64, num_hidden_layers=1,
                                       num_attention_heads=2, max_position_embeddings=16))
data = dict(num_scenes=16, size=64, cache='work_dirs/pretrain/scenes-64-16.npz')
dense = dict(start=0.5, prototypes=32)
batch_size = 8
max_iters = 4
log_interval = 1
checkpoint_interval = 2
work_dir = 'work_dirs/pretrain/scenes_sigmoid-dense_test-64_smoke'
tokenizer_captions = 60  # captions the tokenizer is trained on (3000 for the real runs)

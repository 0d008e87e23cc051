# DINOv2 linear segmentation protocol, "lin" (Oquab et al. 2023, Sec. 7.4; its released mmseg 0.x configs, e.g.
# dinov2_vitb14_ade20k_linear_config.py; card: docs/protocols.md#dinov2-linear): BatchNorm + 1x1 conv on the last
# block through the final LayerNorm (get_intermediate_layers(norm=True)); AdamW lr 1e-3 fixed (no grid), weight
# decay 1e-4, batch 16, 40k iterations, poly (power 1) counted from iteration 0 times a 1500-iteration linear
# warm-up from 1e-6 (mmcv PolyLrUpdaterHook); sliding-window inference. The "+ms" variant overrides probes, data
# sizes and inference.
probes = [dict(task='seg', heads=['bn_linear'], layers=[[-1]], lrs=[1e-3])]
features = dict(norm_layers=True, preprocess='encoder', center_pad=False)
optimizer = dict(weight_decay=1e-4, betas=(0.9, 0.999))
schedule = dict(max_iters=40000, warmup_iters=1500, warmup_ratio=1e-6, policy='mmcv_poly', power=1.0,
                checkpoint_interval=4000, log_interval=50)
seed = 0

_base_ = ['_base_/nyu_mmseg.py']
# depth probes on frozen siglip2-so400m14-224 as in SigLIP 2 (Sec. 3.3.1, the TIPS protocol;
# card: docs/protocols.md#siglip-2--tips): a linear layer or TIPS's DPT decoder on TIPS's 4 layers
# through the final LayerNorm, the MAP-head output concatenated to each patch; the images resized to 224 px;
# labels and metrics at the crop's size.
# The paper gives no optimiser details: the data set's base recipe is used.
encoder = dict(name='siglip2-so400m14-224', weights='google/siglip2-so400m-patch14-224')
probes = [dict(task='depth', heads=['linear', 'dpt'], layers=['tips'], lrs=[5e-4], pooled=[True])]
tasks = dict(depth=dict(bin_eps=1e-3, align_corners=False))  # TIPS DepthDecoder: relu + min_depth
features = dict(norm_layers=True, preprocess='encoder', center_pad=False)
data = dict(train=dict(image_size=224), val=dict(image_size=224))  # short side
work_dir = 'work_dirs/depth/nyummseg_linear-pool-dpt_siglip2-so400m14-224_siglip2paper224'

_base_ = ['_base_/nyu_probe3d.py']
# normals probes on frozen siglip2-so400m14-384 as in SigLIP 2 (Sec. 3.3.1, the TIPS protocol;
# card: docs/protocols.md#siglip-2--tips): a linear layer or TIPS's DPT decoder on TIPS's 4 layers
# through the final LayerNorm, the MAP-head output concatenated to each patch; the images resized to 384 px
# (as HF and big_vision: the valid patch conv drops the last 6 px, so 378 px are seen; timm feeds 378);
# labels and metrics at the crop's size.
# The paper gives no optimiser details: the data set's base recipe is used.
encoder = dict(name='siglip2-so400m14-384', weights='google/siglip2-so400m-patch14-384')
probes = [dict(task='normals', heads=['linear', 'dpt'], layers=['tips'], lrs=[5e-4], pooled=[True])]
tasks = dict(normals=dict(uncertainty=False, align_corners=False))  # TIPS NormalsDecoder: 3 channels
features = dict(norm_layers=True, preprocess='encoder', center_pad=False)
data = dict(train=dict(image_size=(384, 384)), val=dict(image_size=(384, 384)))
work_dir = 'work_dirs/normals/nyu_linear-pool-dpt_siglip2-so400m14-384_siglip2paper384'

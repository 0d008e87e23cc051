# ScanNet test pairs (scannet_test_1500), Probe3D protocol (configs/scannet_correspondence.yaml,
# evaluate_scannet_correspondence.py): 480 x 640 colour, depth and intrinsics at 1/4 scale, 1,000 ratio-test matches,
# recall at 5 / 10 / 20 px of the 1/4-scale image, recall@10px binned by rotation 0-15-30-60-180 degrees.
data_root = 'data/scannet_test_1500'
evaluation = dict(type='correspond', protocol='scannet', name='scannet', num_figures=4,
                  data=dict(type='scannet_pairs', root=data_root, image_size=(480, 640)))

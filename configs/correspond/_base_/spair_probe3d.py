# SPair-71k keypoint transfer, Probe3D protocol (configs/spair_correspondence.yaml, evaluate_spair_correspondence.py):
# test split, 200 pairs a category, images padded to a square and resized to 800, PCK@0.1 of the target box's longer
# side, per category and the mean over categories (also per viewpoint variation 0 / 1 / 2).
data_root = 'data/SPair-71k'
evaluation = dict(type='correspond', protocol='spair', name='spair', num_figures=4,
                  data=dict(type='spair', root=data_root, split='test', image_size=800, num_instances=200))

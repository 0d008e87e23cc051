# NAVI multi-view pairs, Probe3D protocol (configs/navi_correspondence.yaml, evaluate_navi_correspondence.py): wild-set
# views paired within 120 degrees (seed 8), every 4th pair, 512 x 512 box crops, points at 1/4 scale, 1,000 ratio-test
# matches; recall at 1 / 2 / 5 cm and 5 / 25 / 50 px (512 px), recall@2cm binned by rotation 0-30-60-90-120 degrees.
data_root = 'data/navi_v1'
evaluation = dict(type='correspond', protocol='navi', name='navi', num_figures=4,
                  data=dict(type='navi_pairs', root=data_root, split='test', size=512, max_angle=120.0, every=4))

import torch
import torch.nn.functional as F

from dense import mmcv_compat


def test_mmseg_models_import_with_stand_in():
    mmseg = mmcv_compat.import_mmseg()
    from mmseg.models.decode_heads import DPTHead  # noqa: F401
    from mmseg.registry import DATASETS
    assert DATASETS.get('ADE20KDataset') is not None
    assert mmseg.__version__ == '1.2.2'


def test_sigmoid_focal_loss_matches_torchvision():
    from torchvision.ops import sigmoid_focal_loss as reference
    pred, target = torch.randn(7, 5), torch.randint(0, 5, (7,))
    ours = mmcv_compat.sigmoid_focal_loss(pred, target, 2.0, 0.25, None, 'none')
    ref = reference(pred, F.one_hot(target, 5).float(), alpha=0.25, gamma=2.0, reduction='none')
    assert (ours - ref).abs().max() < 1e-6

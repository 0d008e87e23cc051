"""Losses of the dense probes, each a small pure function citing the definition it follows."""
from probes.losses.depth import gradient_loss, probe3d_depth_loss, sig_loss, valid_depth
from probes.losses.normals import angular_loss, kappa_from_logit, uncertainty_angular_loss, valid_normals
from probes.losses.segmentation import upsampled_cross_entropy

__all__ = ['angular_loss', 'gradient_loss', 'kappa_from_logit', 'probe3d_depth_loss', 'sig_loss',
           'uncertainty_angular_loss', 'upsampled_cross_entropy', 'valid_depth', 'valid_normals']

"""Metrics shared by several papers (realism of generated images, ...)."""

from .realism import ClassifierFeatures, feature_fid

__all__ = ["ClassifierFeatures", "feature_fid"]

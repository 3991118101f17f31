"""Metrics shared by several papers (realism of generated images, ...)."""

from .realism import ClassifierFeatures, feature_fid  # noqa: F401
from .subgroups import accuracy_by_group  # noqa: F401

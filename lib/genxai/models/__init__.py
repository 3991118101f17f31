"""Models: the classifier zoo, the checkpoint cache and parallel training of independent models."""

from .cache import CachedModel, ModelConfig, cache_key, get_or_train, is_cached, load_cached
from .classifiers import ClassifierConfig, SmallCNN, accuracy, ensure_logits, predict_logits
from .zoo import classifier_config, standard_classifier

__all__ = [
    "CachedModel",
    "ClassifierConfig",
    "ModelConfig",
    "SmallCNN",
    "accuracy",
    "cache_key",
    "classifier_config",
    "ensure_logits",
    "get_or_train",
    "is_cached",
    "load_cached",
    "predict_logits",
    "standard_classifier",
]

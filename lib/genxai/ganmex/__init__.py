"""GANMEX: One-vs-One Attributions using GAN-based Model Explainability (Shih, Tien, Karnin, ICML 2021).

A one-vs-one attribution explains "why class s and not class t" by integrating gradients from a baseline that is
the input moved to class t by a StarGAN-style generator G(x, t) trained with the classifier as its class
discriminator (the paper's Eq. 3-6: adversarial, classification, reconstruction and similarity terms).

* :mod:`.networks`: StarGAN-style G(x, c) and PatchGAN critic for 28-32 px images;
* :mod:`.gan`: the config/trainer (classifier as class discriminator; ablation switches);
* :mod:`.baselines`, :mod:`.attribution`: baselines (zero, blur, MDTS, expected gradients, GANMEX) and the
  captum attribution wrappers taking them;
* :mod:`.randomisation`: cascading randomisation of a classifier (the sanity check);
* :mod:`.metrics`: inverse localisation L(A), sanity-check similarities, Gini sparseness, baseline statistics;
* :mod:`.experiments`: the paper's tables; :mod:`.plots`: its figures.
"""

from .attribution import LogitDifference, attribute, expected_gradients, explain
from .baselines import CLASS_TARGETED, KINDS, make_baseline, mdts
from .gan import GANMEXConfig, GANMEXModel, evaluate, translate
from .metrics import baseline_stats, gini, inverse_localisation
from .randomisation import cascade_layers, layer_labels, randomised_copy

__all__ = [
    "attribute",
    "baseline_stats",
    "cascade_layers",
    "CLASS_TARGETED",
    "evaluate",
    "expected_gradients",
    "explain",
    "GANMEXConfig",
    "GANMEXModel",
    "gini",
    "inverse_localisation",
    "KINDS",
    "layer_labels",
    "LogitDifference",
    "make_baseline",
    "mdts",
    "randomised_copy",
    "translate",
]

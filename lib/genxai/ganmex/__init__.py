"""GANMEX (Shih, Tien & Karnin, ICML 2021): GAN-based class-targeted baselines for one-vs-one attributions.

* :mod:`.networks` StarGAN-style G(x, c) and PatchGAN critic for 28-32 px images;
* :mod:`.gan` the config/trainer (classifier as class discriminator; ablation switches);
* :mod:`.randomisation` cascading randomisation of a classifier;
* :mod:`.metrics` L(A), sanity-check similarities, Gini sparseness, baseline statistics.
"""

from .gan import GANMEXConfig, GANMEXModel, evaluate, translate  # noqa: F401
from .randomisation import cascade_layers, layer_labels, randomised_copy  # noqa: F401

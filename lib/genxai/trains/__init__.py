"""Synthetic Data Generation To Better Perceive Classifier Predictions (Vicente).

A classifier is made perceivable through generated images:

* **Experiment 1** (:mod:`.wgan_gp`): a WGAN-GP whose generator loss adds the cross-entropy of a frozen
  classifier C towards a chosen class, ``L_G = -E[D(G(z))] + w · CE(C(G(z)), y*)``, beside the critic's
  WGAN-GP loss with gradient penalty ``λ E[(‖∇D(x̂)‖₂ - 1)²]`` (Gulrajani et al. 2017, Alg. 1).
* **Experiment 2** (:mod:`.vae`, :mod:`.frontier`): a conv VAE (ELBO) whose latent paths between a class-A
  and a class-B image are bisected to the classifier's frontier ``p_C(A | decode(z(t))) = 0.5``.
* The XTRAINS-like trains data (:mod:`genxai.data.trains`), the TypeA concept classifier
  (:mod:`.concept_cnn`), accuracy per concept group (:mod:`.subgroups`), the architecture figure
  (:mod:`.plots`), the frontier explorer (:mod:`.explorer`) and ``genxai synth`` (:mod:`.synth`).
"""

from .concept_cnn import ConceptClassifierConfig, ConceptCNN
from .frontier import FrontierResult, bisect, endpoints, refine, traversal
from .plots import architecture
from .subgroups import accuracy_by_group
from .vae import ConvVAE, VAEConfig, vae_loss
from .wgan_gp import WGAN, Critic, Generator, WGANGPConfig, gradient_penalty, sample, snapshots, steering_loss

__all__ = [
    "ConceptCNN",
    "ConceptClassifierConfig",
    "ConvVAE",
    "Critic",
    "FrontierResult",
    "Generator",
    "VAEConfig",
    "WGAN",
    "WGANGPConfig",
    "accuracy_by_group",
    "architecture",
    "bisect",
    "endpoints",
    "gradient_penalty",
    "refine",
    "sample",
    "snapshots",
    "steering_loss",
    "traversal",
    "vae_loss",
]

"""Explainability of Adversarial Generative Networks (Brudo): explaining GANs themselves on MNIST.

* :mod:`.gan`: GAN vs CGAN with SAGAN self-attention blocks (Zhang et al. 2019, Eq. 1-2 of SAGAN);
  :mod:`.attention`: the block and its attention maps (the work's Fig. 6.7);
* :mod:`.infogan`: InfoGAN's mutual-information term ``min_G,Q max_D V(D, G) - λ L_I(G, Q)`` (Chen et al. 2016,
  Eq. 5-6) with categorical and continuous codes;
* :mod:`.directions`: unsupervised latent-direction discovery (Voynov & Babenko 2020: deformator A and
  reconstructor R, ``min_A,R E[L_cl(k, R(G(z), G(z + A(ε e_k)))) + λ L_r(ε, ...)]``, the work's Fig. 5.3-5.4);
* :mod:`.metrics`: conditioning accuracy, matched code accuracy, direction effects, attention on the stroke;
* :mod:`.protocol`: what a latent generator must offer (MNIST GANs now, ScrabbleGAN later); the explorer is the
  shared :class:`genxai.explorer.LatentExplorer`.
"""

from .attention import SelfAttention, attention_blocks, attention_maps
from .directions import (
    Deformator,
    DirectionConfig,
    DirectionModel,
    Reconstructor,
    direction_accuracy,
    discovery_loss,
    discovery_step,
    sample_shifts,
    shifted_grid,
)
from .gan import Discriminator, GANConfig, Generator, generator_of
from .infogan import InfoGANConfig, InfoGenerator, QHead, code_predictions, info_loss
from .metrics import (
    attention_columns,
    attention_input_columns,
    attention_stroke_correlation,
    conditioning_accuracy,
    direction_effects,
    matched_accuracy,
    summarize_effects,
)
from .protocol import LatentGenerator, check_generator

__all__ = [
    "attention_blocks",
    "attention_maps",
    "attention_columns",
    "attention_input_columns",
    "attention_stroke_correlation",
    "check_generator",
    "code_predictions",
    "conditioning_accuracy",
    "Deformator",
    "direction_accuracy",
    "direction_effects",
    "DirectionConfig",
    "DirectionModel",
    "discovery_loss",
    "discovery_step",
    "Discriminator",
    "GANConfig",
    "Generator",
    "generator_of",
    "info_loss",
    "InfoGANConfig",
    "InfoGenerator",
    "LatentGenerator",
    "matched_accuracy",
    "QHead",
    "Reconstructor",
    "sample_shifts",
    "SelfAttention",
    "shifted_grid",
    "summarize_effects",
]

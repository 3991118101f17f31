"""ScrabbleGAN (Fogel et al. 2020) on offline handwriting, explained with latent directions and attention maps.

The second half of the GAN-explainability work (chapters 5.1.1 and 6.2): :mod:`.model` (G with a per-character
filter bank, D, recogniser, gradient balancing), :mod:`.train` (cached configs), :mod:`.measures` (ink width,
slant, length, CER/WER, Fréchet distance, style diversity).
"""

from .model import Discriminator, Generator, Recogniser, ScrabbleGAN, balance_coefficient, ctc_loss
from .train import RecogniserConfig, ScrabbleGANConfig

__all__ = [
    "Discriminator",
    "Generator",
    "Recogniser",
    "RecogniserConfig",
    "ScrabbleGAN",
    "ScrabbleGANConfig",
    "balance_coefficient",
    "ctc_loss",
]

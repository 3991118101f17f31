"""Explaining GANs themselves: GAN vs CGAN, SAGAN attention maps, InfoGAN codes, latent directions.

One module per method: :mod:`.gan` (MNIST GAN/CGAN), :mod:`.attention` (SAGAN block and
``attention_maps``), :mod:`.infogan`, :mod:`.directions` (Voynov & Babenko), :mod:`.metrics`,
:mod:`.explorer` (ipywidgets), :mod:`.protocol` (what a generator must offer).
"""

from .attention import SelfAttention, attention_blocks, attention_maps  # noqa: F401
from .directions import (Deformator, DirectionConfig, DirectionModel, Reconstructor,  # noqa: F401
                         direction_accuracy, discovery_loss, discovery_step, sample_shifts, shifted_grid)
from .explorer import LatentExplorer  # noqa: F401
from .gan import Discriminator, GANConfig, Generator, generator_of  # noqa: F401
from .infogan import InfoGANConfig, InfoGenerator, QHead, code_predictions, info_loss  # noqa: F401
from .metrics import (attention_stroke_correlation, conditioning_accuracy, direction_effects,  # noqa: F401
                      matched_accuracy, summarize_effects)
from .protocol import LatentGenerator, check_generator  # noqa: F401

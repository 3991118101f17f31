"""GANchors: Realistic Image Perturbation Distributions for Anchors Using Generative Models (David, Keane, Noh).

Anchors (Ribeiro et al. 2018) explain an image prediction by a set A of superpixels whose presence keeps the
prediction with precision ≥ τ; GANchors replaces the random-stitching perturbation distribution by samples of a
GAN whose output is constrained to keep the anchor's pixels (the masked loss of Eq. 11, the diverse encoder's
Eq. 12, Algorithms 1-3).

* :mod:`.segmentation`: quickshift to exactly K segments (bounded), SLIC.
* :mod:`.search`: KL-LUCB bounds and beam search (Ribeiro et al. 2018, Alg. 1-2).
* :mod:`.samplers`: random stitching, Algorithms 1-3, BatchNorm-train, diverse-encoder init, sample reuse.
* :mod:`.dcgan`, :mod:`.encoder`: the authors' DCGAN and the diverse encoder (Eq. 12), trained by us.
* :mod:`.explain`: :class:`AnchorImage` ties them together; :mod:`.experiments`: the paper's protocol.
"""

from .dcgan import DCGANConfig, Discriminator, Generator
from .encoder import DiverseEncoder, EncoderConfig, encoder_loss
from .explain import AnchorImage, Explanation, independent_precision
from .samplers import (
    BatchNormTrainSampler,
    BatchSampler,
    EncoderSampler,
    GANSampler,
    RandomStitching,
    SamplePool,
    Sampler,
    SingleLatentSampler,
    ThresholdDistributionSampler,
    anchor_loss,
    threshold_sample,
)
from .search import AnchorResult, SearchConfig, anchor_beam, kl_lower, kl_upper
from .segmentation import Segmentation, anchor_mask, quickshift_k, slic_segments

__all__ = [
    "anchor_beam",
    "anchor_loss",
    "anchor_mask",
    "AnchorImage",
    "AnchorResult",
    "BatchNormTrainSampler",
    "BatchSampler",
    "DCGANConfig",
    "Discriminator",
    "DiverseEncoder",
    "encoder_loss",
    "EncoderConfig",
    "EncoderSampler",
    "Explanation",
    "GANSampler",
    "Generator",
    "independent_precision",
    "kl_lower",
    "kl_upper",
    "quickshift_k",
    "RandomStitching",
    "SamplePool",
    "Sampler",
    "SearchConfig",
    "Segmentation",
    "SingleLatentSampler",
    "slic_segments",
    "threshold_sample",
    "ThresholdDistributionSampler",
]

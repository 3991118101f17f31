"""GANchors (Davids, Keane, Noh 2019): image anchors with GAN-sampled perturbations.

* :mod:`.segmentation`: quickshift to exactly K segments (bounded), SLIC.
* :mod:`.search`: KL-LUCB + beam search (Ribeiro et al. 2018).
* :mod:`.samplers`: random stitching, Algorithms 1-3, BatchNorm-train, diverse-encoder init, sample reuse.
* :mod:`.dcgan`, :mod:`.encoder`: the authors' DCGAN and the diverse encoder (Eq. 12), trained by us.
* :mod:`.explain`: :class:`AnchorImage` ties them together.
"""

from .dcgan import DCGANConfig, Discriminator, Generator  # noqa: F401
from .encoder import DiverseEncoder, EncoderConfig, encoder_loss  # noqa: F401
from .explain import AnchorImage, Explanation, independent_precision  # noqa: F401
from .samplers import (BatchNormTrainSampler, BatchSampler, EncoderSampler, GANSampler,  # noqa: F401
                       RandomStitching, Sampler, SingleLatentSampler, ThresholdDistributionSampler,
                       SamplePool, anchor_loss, threshold_sample)
from .search import AnchorResult, SearchConfig, anchor_beam, kl_lower, kl_upper  # noqa: F401
from .segmentation import Segmentation, anchor_mask, quickshift_k, slic_segments  # noqa: F401

"""StylEx ("Explaining in Style", Lang et al. 2021) as reproduced by "[Re] Explaining in Style".

``networks``: StyleGAN2-style G with an explicit StyleSpace, D with R1, encoder; ``model``: the StylEx config and
losses; ``attfind``: AttFind (batched), sufficiency, FID under perturbation; ``export``: the study's animations
and spec, the counterfactual figure.
"""

from .model import PairClassifierConfig, StylExConfig

__all__ = ["PairClassifierConfig", "StylExConfig"]

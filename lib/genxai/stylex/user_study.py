"""Where the user-study notebook (``notebooks/stylex/03_user_study.ipynb``) gets its StylEx animations.

Notebook 01 exports them (GIFs + ``items.json``) and ``genxai reproduce`` promotes them to
:func:`genxai.stylex.experiments.study_items_dir`.  Run alone on a fresh clone (nbval executes every smoke notebook on
its own, and notebooks run outside ``genxai reproduce`` write to a scratch folder), notebook 03 finds no promoted
items; it then exports the same items the way notebook 01 does, from the same cached model.
"""

from __future__ import annotations

from pathlib import Path

import torch

from .. import profiles
from . import experiments as E


def study_items(
    profile: str, out_dir: str | Path, seed: int = 0, device: str | torch.device = "cpu"
) -> tuple[Path, str]:
    """(folder of the study items, where they came from).

    The folder notebook 01 wrote (promoted to ``results/``) when it exists; otherwise ``out_dir``, filled as notebook
    01 fills it: the cached StylEx of ``profile``, AttFind on the same balanced test images, the same export."""
    try:
        return E.require_study_items(profile), "notebook 01's export"
    except FileNotFoundError:
        pass
    P = profiles.get("stylex", profile)
    A, EV = P.attfind, P.evaluation
    cfg = E.stylex_config(profile, seed)
    model = E.trained_stylex(profile, seed, device).model
    names = list(cfg.data("test").classes)
    att, _ = E.balanced_test(cfg, A["n_images"] // 2, seed + 1)
    found = E.find_attributes(model, att.images, A["num_indices"], A["variant"], A["effect_threshold"], seed=seed)
    spec = E.export_study_items(
        model,
        found.codes,
        found.toward,
        out_dir,
        names,
        EV["study_attributes"],
        EV["study_images"],
        EV["figure_shift"],
        seed=seed,
    )
    return spec.parent, "exported here from the cached StylEx of notebook 01 (its promoted items were absent)"

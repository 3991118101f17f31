"""One ipywidgets latent explorer for every work: sliders along latent directions -> decoded image and live
classifier probabilities, with an optional "go to frontier" button.

The core is a decode callable ``decode(z) -> images`` (N, C, H, W) in [-1, 1], so a VAE decoder (trains), a
conditional GAN (gan_xai, through :meth:`LatentExplorer.for_generator`) or any later generator plugs in.  Every
callback is a plain method, so the explorer works, and is tested, headless: set ``slider.value`` or call
:meth:`set_shift`, click ``button``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import torch
from torch import nn

from .models import predict_logits
from .repro import show_progress
from .viz import png_bytes

#: ``frontier(decode, classifier, z_from, z_to, cls) -> z`` where the classifier's p(cls) crosses 0.5.
FrontierFn = Callable[[Callable, nn.Module, torch.Tensor, torch.Tensor, int], torch.Tensor]


class LatentExplorer:
    """``z0 + Σ_k s_k d_k`` decoded, with the classifier's probabilities.

    Args:
        decode: latent (1, d) -> image (1, C, H, W) in [-1, 1].
        classifier: a logits model.
        z0: the start latent, (d,) or (1, d).
        directions: (K, d) directions the sliders move along; default: the first min(4, d) coordinates.
        class_names: names of the classifier's outputs.
        span: sliders run over [-span, span].
        names: slider labels (default ``dir k``).
        frontier: a bisection ``FrontierFn`` (e.g. :func:`genxai.trains.frontier.bisect` wrapped by
            :func:`frontier_from_bisect`); when given, a "go to frontier" button walks from the current latent
            towards the nearest candidate latent of another class and stops on the frontier.
        candidates: latents the frontier button may walk to (default: 256 seeded normal draws).
    """

    def __init__(
        self,
        decode: Callable[[torch.Tensor], torch.Tensor],
        classifier: nn.Module,
        z0: torch.Tensor,
        directions: torch.Tensor | None = None,
        class_names: Sequence[str] | None = None,
        span: float = 3.0,
        step: float = 0.05,
        names: Sequence[str] | None = None,
        frontier: FrontierFn | None = None,
        candidates: torch.Tensor | None = None,
        size: int = 160,
    ):
        import ipywidgets as W

        self.decode, self.classifier = decode, classifier.eval()
        self.z0 = z0.detach().clone().reshape(1, -1)
        d = self.z0.shape[1]
        self.directions = (torch.eye(d)[: min(4, d)] if directions is None else directions.detach()).to(self.z0)
        self.frontier, self.candidates = frontier, candidates
        self.shifts = torch.zeros(len(self.directions))
        self.size = size
        self.sliders = [
            W.FloatSlider(
                value=0.0,
                min=-span,
                max=span,
                step=step,
                continuous_update=True,
                description=names[k] if names else f"dir {k}",
            )
            for k in range(len(self.directions))
        ]
        self.image_view = W.Image(format="png", width=size, height=size)
        self.label_view = W.Label("")
        self.status = W.Label("")
        self.button = W.Button(description="go to frontier") if frontier is not None else None
        for k, s in enumerate(self.sliders):
            s.observe(lambda change, k=k: self.set_shift(k, change["new"]), names="value")
        if self.button is not None:
            self.button.on_click(self.go_to_frontier)
        self.refresh()  # knows the number of classes only after one forward pass
        self.class_names = list(class_names) if class_names else [str(i) for i in range(len(self.probs))]
        self.bars = [
            W.FloatProgress(value=p, min=0.0, max=1.0, description=c[:12])
            for c, p in zip(self.class_names, self.probs.tolist())
        ]
        controls = self.sliders + ([self.button] if self.button is not None else []) + [self.status]
        self.widget = W.HBox([W.VBox(controls), W.VBox([self.image_view, self.label_view]), W.VBox(self.bars)])
        self.refresh()

    @classmethod
    def for_generator(
        cls,
        G: Any,
        directions: torch.Tensor,
        classifier: nn.Module,
        z: torch.Tensor,
        condition: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> LatentExplorer:
        """An explorer of a :class:`genxai.gan_xai.protocol.LatentGenerator` (``G(z, **condition)``)."""
        from .gan_xai.protocol import check_generator

        G, condition = check_generator(G), dict(condition or {})
        return cls(lambda latent: G(latent, **condition), classifier, z, directions, **kwargs)

    def show(self) -> None:
        """Display the explorer: the live widget when a person drives the notebook, a still of its image otherwise.

        A batch run (``genxai reproduce``, nbval) has no front end to move sliders, and the widget state it would
        save makes the executed notebook tens of kilobytes larger; such runs set ``TQDM_DISABLE``
        (:func:`genxai.repro.show_progress`), which is the signal used here.
        """
        from .recorder import show

        if show_progress():
            show(self.widget)
            return
        from IPython.display import Image

        show(Image(data=png_bytes(self.image[0], self.size), format="png"))
        print(f"{self.label()}; run this notebook in Jupyter for the sliders")

    def latent(self) -> torch.Tensor:
        return self.z0 + self.shifts.to(self.z0) @ self.directions

    @torch.no_grad()
    def refresh(self) -> torch.Tensor:
        """Decode the current latent, classify it and redraw the views; returns the probabilities."""
        self.image = self.decode(self.latent())[:1].detach().cpu()
        self.probs = predict_logits(self.classifier, self.image).softmax(1)[0]
        self.prediction = int(self.probs.argmax())
        self.confidence = float(self.probs.max())
        self.image_view.value = png_bytes(self.image[0], self.size)
        for bar, p in zip(getattr(self, "bars", []), self.probs.tolist()):
            bar.value = p
        if hasattr(self, "class_names"):
            self.label_view.value = self.label()
        return self.probs

    def label(self) -> str:
        return f"prediction: {self.class_names[self.prediction]} ({self.confidence:.0%})"

    def set_shift(self, k: int, value: float) -> None:
        """Slider k's callback: move along direction k to ``value``."""
        self.shifts[k] = float(value)
        self.refresh()

    def _set_sliders_quietly(self) -> None:
        for k, (s, v) in enumerate(zip(self.sliders, self.shifts.tolist())):
            s.unobserve_all("value")
            s.value = max(s.min, min(s.max, v))
            s.observe(lambda change, k=k: self.set_shift(k, change["new"]), names="value")

    def reset(self, *_: Any) -> None:
        self.shifts.zero_()
        self._set_sliders_quietly()
        self.refresh()

    @torch.no_grad()
    def go_to_frontier(self, _button: Any = None) -> None:
        """Bisect from the current latent towards the nearest candidate latent of another class."""
        z, here = self.latent(), self.prediction
        cand = (
            self.candidates
            if self.candidates is not None
            else torch.randn(256, z.shape[1], generator=torch.Generator().manual_seed(0)).to(z)
        )
        cand = cand[predict_logits(self.classifier, self.decode(cand)).argmax(1) != here]
        if not len(cand):
            self.status.value = "no latent of another class to walk to"
            return
        target = cand[(cand - z).norm(dim=1).argmin()].view(1, -1)
        z_f = self.frontier(self.decode, self.classifier, z, target, here)
        # the frontier point in slider coordinates (least squares, clipped to the sliders' range); the
        # residual goes into z0, so the decoded latent is exactly the frontier point
        coeff = torch.linalg.lstsq(self.directions.T, (z_f - self.z0).T).solution.flatten()
        lo, hi = self.sliders[0].min, self.sliders[0].max
        self.shifts = coeff.clamp(lo, hi).cpu()
        self.z0 = z_f - self.shifts.to(z_f) @ self.directions
        self._set_sliders_quietly()
        self.refresh()
        self.status.value = f"frontier: p({self.class_names[here]}) = {float(self.probs[here]):.3f}"


def frontier_from_bisect(bisect: Callable, tol: float = 0.02) -> FrontierFn:
    """Adapt :func:`genxai.trains.frontier.bisect` (returns a result with ``.z``) to a :data:`FrontierFn`."""
    return lambda decode, classifier, z_a, z_b, cls: bisect(decode, classifier, z_a, z_b, cls, tol=tol).z

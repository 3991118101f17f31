"""An ipywidgets explorer: latent sliders -> decoded image and live classifier probabilities.

Sliders move the latent along a few directions (the first coordinates, or given directions)
from a start point; "go to frontier" bisects from the current point toward the nearest latent of
the other class (:func:`genxai.frontier.bisect`) and moves the sliders there.  Every callback is
a plain method, so it works (and is tested) headless: set ``slider.value``, call ``button.click()``.
"""

from __future__ import annotations

from typing import Callable, Sequence

import torch
from torch import nn

from . import frontier as fr


class LatentExplorer:
    def __init__(self, decode: Callable, classifier: nn.Module, z0: torch.Tensor, classes: Sequence[str],
                 directions: torch.Tensor | None = None, span: float = 3.0, other: torch.Tensor | None = None):
        import ipywidgets as W
        self.decode, self.classifier, self.classes = decode, classifier.eval(), list(classes)
        self.z0 = z0.detach().clone().view(1, -1)
        d = self.z0.shape[1]
        k = min(4, d) if directions is None else len(directions)
        self.directions = torch.eye(d)[:k] if directions is None else directions
        self.other = other  # candidate latents used by "go to frontier"
        self.sliders = [W.FloatSlider(value=0.0, min=-span, max=span, step=0.05, description=f"dir {i}",
                                      continuous_update=True) for i in range(k)]
        self.bars = [W.FloatProgress(value=0.0, min=0.0, max=1.0, description=c[:12]) for c in self.classes]
        self.image = W.Image(format="png", width=160, height=160)
        self.button = W.Button(description="go to frontier")
        self.status = W.Label("")
        for s in self.sliders:
            s.observe(self._on_slider, names="value")
        self.button.on_click(self._on_frontier)
        self.widget = W.HBox([W.VBox(self.sliders + [self.button, self.status]), self.image, W.VBox(self.bars)])
        self.update()

    def latent(self) -> torch.Tensor:
        coeff = torch.tensor([s.value for s in self.sliders], dtype=self.z0.dtype)
        return self.z0 + coeff @ self.directions

    @torch.no_grad()
    def update(self) -> torch.Tensor:
        img = self.decode(self.latent())
        self.probs = self.classifier(img).softmax(1)[0]
        for b, p in zip(self.bars, self.probs.tolist()):
            b.value = p
        self.image.value = _png(img[0])
        self.current_image = img
        return self.probs

    def _on_slider(self, change) -> None:
        self.update()

    @torch.no_grad()
    def _on_frontier(self, _button=None) -> None:
        z = self.latent()
        here = int(self.probs.argmax())
        cand = self.other if self.other is not None else torch.randn(256, z.shape[1], generator=torch.Generator().manual_seed(0))
        pred = self.classifier(self.decode(cand)).argmax(1)
        cand = cand[pred != here]
        if not len(cand):
            self.status.value = "no latent of another class to walk to"
            return
        target = cand[(cand - z).norm(dim=1).argmin()].view(1, -1)
        res = fr.bisect(self.decode, self.classifier, z, target, here)
        # express the frontier point in slider coordinates (least squares; residual goes into z0)
        coeff = torch.linalg.lstsq(self.directions.T, (res.z - self.z0).T).solution.flatten()
        self.z0 = res.z - coeff @ self.directions
        for s, c in zip(self.sliders, coeff.tolist()):
            s.unobserve(self._on_slider, names="value")
            s.value = max(s.min, min(s.max, c))
            s.observe(self._on_slider, names="value")
        self.z0 = res.z - torch.tensor([s.value for s in self.sliders]) @ self.directions
        self.update()
        self.status.value = f"frontier: p({self.classes[here]}) = {float(self.probs[here]):.3f}"


def _png(img: torch.Tensor) -> bytes:
    import io

    from PIL import Image

    from .data import to_uint8
    arr = to_uint8(img[None])[0]
    buf = io.BytesIO()
    Image.fromarray(arr.squeeze(-1) if arr.shape[-1] == 1 else arr).resize((160, 160), Image.NEAREST).save(buf, "PNG")
    return buf.getvalue()

"""An interactive latent explorer: one slider per discovered direction (ipywidgets).

All logic lives in :class:`LatentExplorer` (plain Python, unit-tested without a browser);
:meth:`LatentExplorer.widget` only wires sliders to :meth:`LatentExplorer.on_slider`.
"""

from __future__ import annotations

from typing import Any, Sequence

import torch
from torch import nn

from ..models import predict_logits
from .protocol import check_generator


class LatentExplorer:
    """z + sum_k s_k d_k rendered by G, with the classifier's prediction.

    Args:
        G: a LatentGenerator; directions: (K, latent_dim); classifier: logits model;
        z: one latent (latent_dim,); condition: G's keyword arguments for one sample;
        class_names: names for the classifier's outputs.
    """

    def __init__(self, G: Any, directions: torch.Tensor, classifier: nn.Module, z: torch.Tensor,
                 condition: dict[str, Any] | None = None, class_names: Sequence[str] | None = None,
                 shift_range: float = 6.0):
        self.G = check_generator(G)
        self.directions = directions.detach()
        self.classifier = classifier
        self.z0 = z.detach().reshape(1, -1)
        self.condition = condition or {}
        self.class_names = list(class_names) if class_names else None
        self.shift_range = shift_range
        self.shifts = torch.zeros(len(self.directions))
        self._image_view = None
        self._label_view = None
        self.refresh()

    def latent(self) -> torch.Tensor:
        return self.z0 + (self.shifts.to(self.z0)[:, None] * self.directions.to(self.z0)).sum(0, keepdim=True)

    @torch.no_grad()
    def refresh(self) -> None:
        """Re-render the image and the prediction for the current shifts."""
        self.image = self.G(self.latent(), **self.condition)[0].cpu()
        probs = predict_logits(self.classifier, self.image[None]).softmax(1)[0]
        self.prediction = int(probs.argmax())
        self.confidence = float(probs.max())
        if self._image_view is not None:
            self._draw()

    def label(self) -> str:
        name = self.class_names[self.prediction] if self.class_names else str(self.prediction)
        return f"prediction: {name} ({self.confidence:.0%})"

    def on_slider(self, k: int, change: dict[str, Any]) -> None:
        """ipywidgets observer for slider k (``change['new']`` is the shift)."""
        self.shifts[k] = float(change["new"])
        self.refresh()

    def reset(self, *_: Any) -> None:
        self.shifts.zero_()
        self.refresh()

    def _draw(self) -> None:
        import io
        from PIL import Image
        from ..data import to_uint8
        arr = to_uint8(self.image[None])[0]
        arr = arr[..., 0] if arr.shape[-1] == 1 else arr
        buf = io.BytesIO()
        Image.fromarray(arr).resize((arr.shape[1] * 6, arr.shape[0] * 6), Image.NEAREST).save(buf, format="png")
        self._image_view.value = buf.getvalue()
        self._label_view.value = self.label()

    def widget(self, names: Sequence[str] | None = None):
        """The ipywidgets UI: image, prediction label and one slider per direction."""
        import ipywidgets as W
        self._image_view = W.Image(format="png")
        self._label_view = W.Label()
        sliders = []
        for k in range(len(self.directions)):
            s = W.FloatSlider(value=0.0, min=-self.shift_range, max=self.shift_range, step=0.25,
                              description=names[k] if names else f"dir {k}", continuous_update=True)
            s.observe(lambda change, k=k: self.on_slider(k, change), names="value")
            sliders.append(s)
        self.sliders = sliders
        self._draw()
        return W.HBox([W.VBox([self._image_view, self._label_view]), W.VBox(sliders)])

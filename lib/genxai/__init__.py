"""genxai: notebook-first reproductions of works in which generative models explain classifiers.

Pixel convention (the one convention of the whole library)
-----------------------------------------------------------
Every image tensor that crosses a public function of genxai is ``float32``, shaped
``(N, C, H, W)``, with values in **[-1, 1]** (black = -1, white = +1).  Generators end in
``tanh`` and classifiers are trained on this range, so a sample can be fed to a classifier
without any conversion.  Convert only at the edges: :func:`genxai.data.to_unit` for display or
PNG export, :func:`genxai.data.from_unit` when reading user files in [0, 1].
"""

__version__ = "0.1.0"

PIXEL_MIN = -1.0
PIXEL_MAX = 1.0

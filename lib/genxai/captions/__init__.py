"""Captions of the committed figures, as data: ``captions/<work>.json``.

Each file names the work (``title``), its documentation page (``page``, relative to the repository root) and, per
figure file stem under ``results/<work>/``, the paper figure it regenerates (``paper``) and what it shows
(``shows``).  ``genxai report`` (``genxai.gallery``) renders them; a test fails for a committed figure without one.
"""

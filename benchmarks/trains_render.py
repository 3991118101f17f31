"""Rendering speed of the procedural trains: images per second at 64 px, 1 vs 2 worker processes.

Run: GENXAI_DATA_DIR=... .venv/bin/python benchmarks/trains_render.py [n]
Prints both rates and their ratio (measured side by side in one run) and the projected time for
20,000 images.  The issue's target is 20,000 images at 64 px in under a minute on 2 cores.
"""

import sys
import time

import numpy as np

from genxai.data import trains as T


def main(n: int = 4000) -> None:
    trains = T.sample_balanced(n, "TypeA", np.random.default_rng(0))
    rates = {}
    for workers in (1, 2):
        start = time.perf_counter()
        T.render_trains(0, 64, seed=0, trains=trains, workers=workers)
        rates[workers] = n / (time.perf_counter() - start)
    for w, r in rates.items():
        print(f"workers={w}: {r:.0f} images/s -> 20,000 images in {20000 / r:.0f} s")
    print(f"speed-up 2 vs 1 workers: {rates[2] / rates[1]:.2f}x")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 4000)

"""Time per image of the TypeA classifier (ConceptCNN, 128 px, space-to-depth 2): memory layout and inference batch.

Why ``genxai.trains.concept_cnn.ConceptCNN`` keeps its weights and feature maps channels-last and splits
inference into :attr:`ConceptCNN.EVAL_CHUNK`-image chunks.  One run measures, side by side on the same host and
thread count:

* a training step (batch 64, Adam) with the default (NCHW) layout and with channels-last;
* inference of 512 images in one pass (what ``accuracy``/``predict_logits`` hand the model) against the same
  images in 64-image chunks, for both layouts.

    python benchmarks/trains_concept_cnn.py [--threads 2]
"""

from __future__ import annotations

import argparse
import time

import torch
import torch.nn.functional as F

from genxai.trains.concept_cnn import ConceptCNN


def _model(channels_last: bool) -> ConceptCNN:
    torch.manual_seed(0)
    model = ConceptCNN(width=16, space_to_depth=2, n_aux=3)
    if not channels_last:  # the default layout the class no longer uses
        model = model.to(memory_format=torch.contiguous_format)
    return model


def _run_features(model: ConceptCNN, x: torch.Tensor, channels_last: bool) -> torch.Tensor:
    """The model's logits without its own chunking, in the given layout."""
    h = model.stem(x)
    h = h.contiguous(memory_format=torch.channels_last if channels_last else torch.contiguous_format)
    return model.head(model.fc(model.body(h)))


def train_ms(channels_last: bool, steps: int = 8, batch: int = 64) -> float:
    model = _model(channels_last)
    opt = torch.optim.Adam(model.parameters())
    x, y = torch.randn(batch, 3, 128, 128), torch.randint(0, 2, (batch,))
    for i in range(steps + 2):  # two warm-up steps
        if i == 2:
            start = time.perf_counter()
        loss = F.cross_entropy(_run_features(model, x, channels_last), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
    return (time.perf_counter() - start) / steps / batch * 1e3


@torch.no_grad()
def infer_ms(channels_last: bool, chunk: int, n: int = 512, repeats: int = 3) -> float:
    model = _model(channels_last).eval()
    x = torch.randn(n, 3, 128, 128)
    _run_features(model, x[:chunk], channels_last)  # warm-up
    start = time.perf_counter()
    for _ in range(repeats):
        torch.cat([_run_features(model, part, channels_last) for part in x.split(chunk)])
    return (time.perf_counter() - start) / repeats / n * 1e3


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(f"ConceptCNN (width 16, 128 px, space-to-depth 2), {args.threads} thread(s), ms per image")
    t_nchw, t_last = train_ms(False), train_ms(True)
    print(f"training step, batch 64: NCHW {t_nchw:.2f}, channels-last {t_last:.2f} (x{t_nchw / t_last:.2f})")
    rows = {(cl, c): infer_ms(cl, c) for cl in (False, True) for c in (512, 64)}
    for cl in (False, True):
        name = "channels-last" if cl else "NCHW"
        print(f"inference, {name}: one 512-image pass {rows[cl, 512]:.2f}, 64-image chunks {rows[cl, 64]:.2f}")
    base, ours = rows[False, 512], rows[True, 64]
    print(f"inference as the library runs it (channels-last, 64-image chunks) against NCHW in 512s: x{base / ours:.2f}")


if __name__ == "__main__":
    main()

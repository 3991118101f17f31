"""Figures of the classifier-perception study: each function takes arrays and returns a matplotlib Figure.

Fig. 2 (:func:`architecture`) is drawn from the model objects (not by hand): each network is traced with forward
hooks on a dummy input: one box per leaf layer with its output shape.  Arrows: z -> G -> image -> critic D
(Wasserstein score) and -> frozen classifier C (steering cross-entropy); the real data also enters D.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import torch
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch
from torch import nn

from .. import viz


def trace(model: nn.Module, x: torch.Tensor) -> list[tuple[str, tuple[int, ...]]]:
    """(layer description, output shape) of every leaf module, in call order."""
    rows, hooks = [], []
    for name, m in model.named_modules():
        if len(list(m.children())) == 0:
            hooks.append(
                m.register_forward_hook(
                    lambda mod, i, o, name=name: rows.append((type(mod).__name__, tuple(o.shape[1:])))
                )
            )
    was = model.training
    model.eval()
    with torch.no_grad():
        model(x)
    model.train(was)
    for h in hooks:
        h.remove()
    return rows


def _column(ax, x0, title, rows, colour, y_top=0.95, width=0.26):
    h = min(0.045, 0.8 / max(len(rows), 1))
    ax.text(x0 + width / 2, y_top + 0.02, title, ha="center", va="bottom", fontsize=9, weight="bold")
    for i, (kind, shape) in enumerate(rows):
        y = y_top - (i + 1) * h
        ax.add_patch(FancyBboxPatch((x0, y), width, h * 0.85, boxstyle="round,pad=0.002", fc=colour, ec="k", lw=0.4))
        ax.text(
            x0 + width / 2, y + h * 0.42, f"{kind} {'x'.join(map(str, shape))}", ha="center", va="center", fontsize=5.5
        )
    return y_top - (len(rows) + 1) * h


def architecture(generator: nn.Module, critic: nn.Module, classifier: nn.Module, steer_weight: float, steer_class: str):
    dev = next(generator.parameters()).device
    z = torch.zeros(2, generator.z_dim, device=dev)
    g_rows = trace(generator, z)
    img = generator.eval()(z)
    d_rows, c_rows = trace(critic, img), trace(classifier, img)
    fig, ax = plt.subplots(figsize=(11, 6.5))
    ax.set_axis_off()
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.02)
    _column(ax, 0.03, f"Generator G (z: {generator.z_dim})", g_rows, "#cfe3ff")
    _column(ax, 0.37, "Critic D (WGAN-GP, no batch norm)", d_rows, "#ffe0c4")
    _column(ax, 0.71, "Frozen classifier C", c_rows, "#d8f2d0")
    arrow = dict(arrowstyle="-|>", mutation_scale=12, lw=1.2)
    ax.add_patch(FancyArrowPatch((0.29, 0.6), (0.37, 0.6), **arrow))
    ax.add_patch(FancyArrowPatch((0.29, 0.5), (0.71, 0.5), connectionstyle="arc3,rad=-0.25", **arrow))
    ax.text(0.33, 0.62, "G(z)", fontsize=8, ha="center")
    ax.text(
        0.5,
        0.06,
        f"G loss = -D(G(z)) + {steer_weight:g} * CE(C(G(z)), '{steer_class}')   |   "
        "D loss = D(G(z)) - D(x) + 10 * (||grad D(x^)|| - 1)^2",
        ha="center",
        fontsize=8,
    )
    ax.text(0.5, 0.01, "real images x enter D; C is frozen (eval, no gradient to its weights)", ha="center", fontsize=7)
    return fig


def share_curves(share: dict[str, list[float]], target: str, pretrain: list[float] = ()):
    """Experiment 1: share of the monitor samples the classifier assigns to ``target``, per epoch.

    ``pretrain``: the shares of the pre-training epochs (no steering); every run in ``share`` continues from its
    last epoch, so its curve starts there.
    """
    fig, ax = plt.subplots(figsize=(5.0, 3.2))
    n0 = len(pretrain)
    if n0:
        ax.plot(range(1, n0 + 1), list(pretrain), color="0.45", marker="o", ms=2.5, label="pre-training (no steering)")
        ax.axvline(n0 + 0.5, color="0.7", lw=0.8, ls=":")
    for name, ys in share.items():
        xs = list(range(n0, n0 + len(ys) + 1)) if n0 else list(range(1, len(ys) + 1))
        ys = ([pretrain[-1]] if n0 else []) + list(ys)
        ax.plot(xs, ys, marker="o", ms=3, label=name)
    ax.set_xlabel("epoch")
    ax.set_ylabel(f"share classified '{target}'")
    ax.set_ylim(-0.02, 1.02)
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig


def _mosaic(images: torch.Tensor, nrow: int, ncol: int, pad: int = 2) -> torch.Tensor:
    """(nrow * ncol, C, H, W) in row-major order -> one (C, H', W') image with ``pad`` px of mid grey between cells."""
    c, h, w = images.shape[1:]
    out = torch.zeros(c, nrow * (h + pad) - pad, ncol * (w + pad) - pad)
    for k, img in enumerate(images):
        r, q = divmod(k, ncol)
        out[:, r * (h + pad) : r * (h + pad) + h, q * (w + pad) : q * (w + pad) + w] = img
    return out


def exp1_grids(grids: dict[str, tuple[torch.Tensor, list[int]]], target: str, per_epoch: int = 6):
    """Experiment 1's grids, one panel per run side by side: samples classified ``target``, one column per epoch.

    ``grids``: run name -> (images in row-major order, ``per_epoch`` rows x one column per epoch; 0-based epochs),
    as :func:`genxai.trains.experiments.exp1_grids` returns them.  Black cells: fewer samples were assigned.
    """
    n_epochs = len(next(iter(grids.values()))[1])
    # each panel as wide as its mosaic's aspect needs, at most half the page: no blank bands beside narrow grids
    panel_h = min(4.5, 5.2 * per_epoch / n_epochs)
    panel_w = panel_h * n_epochs / per_epoch
    fig, axes = plt.subplots(1, len(grids), figsize=(len(grids) * (panel_w + 0.4), panel_h + 1.0), squeeze=False)
    for ax, (name, (images, epochs)) in zip(axes[0], grids.items()):
        pad, w = 2, images.shape[-1]
        ax.imshow(viz.to_display(_mosaic(images, per_epoch, len(epochs), pad)), cmap="gray", vmin=0, vmax=1)
        ax.set_xticks([q * (w + pad) + w / 2 for q in range(len(epochs))], [str(e + 1) for e in epochs], fontsize=8)
        ax.set_yticks([])
        ax.set_xlabel("epoch", fontsize=9)
        ax.set_title(f"{name}:\nsamples classified '{target}'", fontsize=9)
    fig.tight_layout()
    return fig


def frontier_rows(results: list, classes: list[str], k: int = 10):
    """Experiment 2: frontier images found by bisection, one row per class pair, p(A) above each image."""
    ncol = min(k, max(len(r.images) for _, _, r, _ in results))
    fig, axes = plt.subplots(len(results), ncol, figsize=(1.1 * ncol, 1.35 * len(results) + 0.3), squeeze=False)
    for row, (a, b, r, _) in zip(axes, results):
        for j, ax in enumerate(row):
            if j < len(r.images):
                viz.show_image(ax, r.images[j].cpu(), f"{float(r.p[j]):.2f}")
            else:
                ax.axis("off")
        row[0].set_ylabel(f"{classes[a]} |\n{classes[b]}", fontsize=8)
    fig.suptitle(
        "frontier images (bisection); above each: the classifier's p(A), A = first class of the row", fontsize=9
    )
    fig.tight_layout()
    return fig


def strips(strips: list, classes: list[str]):
    """Experiment 2: latent paths class A -> class B, one row per path, p(A) above each step."""
    rows = [(a, b, imgs, p) for a, b, paths, _, ps in strips for imgs, p in zip(paths, ps)]
    ncol = len(rows[0][2])
    fig, axes = plt.subplots(len(rows), ncol, figsize=(1.1 * ncol, 1.3 * len(rows) + 0.3), squeeze=False)
    for axrow, (a, b, imgs, p) in zip(axes, rows):
        for ax, img, v in zip(axrow, imgs, p.tolist()):
            viz.show_image(ax, img.cpu(), f"{v:.2f}")
        axrow[0].set_ylabel(f"{classes[a]} ->\n{classes[b]}", fontsize=8)
    fig.suptitle("latent paths from A (left) to B (right); above each step: the classifier's p(A)", fontsize=9)
    fig.tight_layout()
    return fig


def probability_paths(strips: list, classes: list[str]):
    """Experiment 2: the classifier's p(A) along each path; one colour per class pair, one legend entry per pair."""
    fig, ax = plt.subplots(figsize=(6, 3.5))
    for k, (a, b, _, t, p) in enumerate(strips):
        colour = plt.cm.tab10(k % 10)
        for j, prow in enumerate(p):
            label = f"{classes[a]} -> {classes[b]} ({len(p)} paths)" if j == 0 else None
            ax.plot(t.cpu(), prow.cpu(), marker=".", alpha=0.75, color=colour, label=label)
    ax.axhline(0.5, color="k", lw=0.6, ls="--")
    ax.set_xlabel("t along the latent path (0 = A, 1 = B)")
    ax.set_ylabel("classifier p(A)")
    ax.legend(fontsize=7)
    fig.tight_layout()
    return fig


#: Attribute rows of the sample-train figure, per wagon (the renderer's ``w<i>_<key>`` columns).
WAGON_ATTRIBUTES = ("length", "shape", "roof", "wheels", "cargo", "quantity")
#: Train-level concepts shown in the sample-train figure (the TypeA rule and the experiments' LongTrain).
TRAIN_CONCEPTS = ("LongTrain", "EmptyTrain", "PassengerTrain", "FreightTrain", "WarTrain", "TypeA", "TypeB")


def sample_train(image: torch.Tensor, row: dict, boxes: list[tuple[str, float, float, float, float]]):
    """The work's first figure: one train at full size with its attribute table, from the renderer's ground truth.

    ``image``: (3, H, W) in [-1, 1]; ``row``: the renderer's attribute row (``genxai.data.trains.describe`` plus
    the nuisance values); ``boxes``: (part, x0, y0, x1, y1) in pixels, outlined and named on the image.
    """
    fig, (ax_img, ax_tab) = plt.subplots(1, 2, figsize=(11.5, 4.8), gridspec_kw={"width_ratios": [1, 1.35]})
    ax_img.imshow(viz.to_display(image))
    size = image.shape[-1]
    for k, (part, x0, y0, x1, y1) in enumerate(boxes):
        colour = "white" if part == "locomotive" else plt.cm.tab10(k % 10)
        ax_img.add_patch(plt.Rectangle((x0, y0), x1 - x0, y1 - y0, fill=False, lw=1.2, ec=colour))
        label = "loco" if part == "locomotive" else part.replace("wagon", "w")
        # names under the boxes: above them they would sit on the previous part's box
        ax_img.text(x0, y1 + 1.5, label, color=colour, fontsize=8, va="top", fontweight="bold")
    ax_img.set_xticks([])
    ax_img.set_yticks([])
    ax_img.set_title(f"one of our trains, {size} x {size} px (boxes: the renderer's parts)", fontsize=9)
    n = int(row["NumberOfWagons"])

    def fmt(v) -> str:  # pandas hands wagon columns with gaps back as floats
        return str(int(v)) if isinstance(v, float) and float(v).is_integer() else "-" if v is None else str(v)

    cells = [[k] + [fmt(row[f"w{i + 1}_{k}"]) for i in range(n)] for k in WAGON_ATTRIBUTES]
    true = [c for c in TRAIN_CONCEPTS if row[c]]
    false = [c for c in TRAIN_CONCEPTS if not row[c]]
    ax_tab.axis("off")
    table = ax_tab.table(
        cellText=cells,
        colLabels=["attribute"] + [f"wagon {i + 1}" for i in range(n)],
        bbox=[0.0, 0.42, 1.0, 0.55],
    )
    table.auto_set_font_size(False)
    table.set_fontsize(9)
    ax_tab.text(
        0.0,
        0.36,
        f"train: a locomotive and {n} wagons ({int(row['NumberOfLongWagons'])} long), wheel size "
        f"{int(row['WheelSize'])}, angle {row['Angle']:.1f} deg, body colour {row['BodyColour']}\n"
        "concepts (closed-world rules of the ontology):\n  true: "
        + ", ".join(true or ["none"])
        + "\n  false: "
        + ", ".join(false or ["none"]),
        fontsize=9,
        transform=ax_tab.transAxes,
        va="top",
    )
    fig.tight_layout()
    return fig


def detector_readings(locomotive_share: dict[str, float], wagons: dict[str, list[float]]):
    """The objective detector's reading of real and generated trains: share with a locomotive (left) and the
    wagon-count distribution (right), one bar (group) per sample set."""
    names = list(locomotive_share)
    fig, (ax_l, ax_w) = plt.subplots(1, 2, figsize=(11, 3.6), gridspec_kw={"width_ratios": [1, 1.6]})
    colours = [plt.cm.tab10(k % 10) for k in range(len(names))]
    ax_l.barh(range(len(names)), [locomotive_share[n] for n in names], color=colours)
    ax_l.set_yticks(range(len(names)), names, fontsize=8)
    ax_l.invert_yaxis()
    ax_l.set_xlim(0, 1)
    ax_l.set_xlabel("share read as 'locomotive present'", fontsize=9)
    for k, n in enumerate(names):
        ax_l.text(min(locomotive_share[n] + 0.02, 0.9), k, f"{locomotive_share[n]:.2f}", va="center", fontsize=8)
    width = 0.8 / len(names)
    counts = range(len(next(iter(wagons.values()))))
    for k, n in enumerate(names):
        ax_w.bar([c + (k - (len(names) - 1) / 2) * width for c in counts], wagons[n], width, color=colours[k], label=n)
    ax_w.set_xticks(list(counts), [str(c) for c in counts])
    ax_w.set_xlabel("wagons read by the detector (0: no train)", fontsize=9)
    ax_w.set_ylabel("share of images", fontsize=9)
    ax_w.set_ylim(0, 1)
    ax_w.legend(fontsize=7)
    fig.suptitle("the objective detector (trained on our renders, never on generated images)", fontsize=9)
    fig.tight_layout()
    return fig

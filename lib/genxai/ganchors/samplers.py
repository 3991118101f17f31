"""Perturbation distributions D(z | A) for image anchors, all behind one interface.

``sampler.bind(image, segments)`` fixes the explained image x ((C, H, W) in [-1, 1]) and its
superpixel labels; ``sampler.sample(anchor, n) -> (images (n, C, H, W) in [-1, 1], present (n, M) bool)``
returns perturbations that keep the anchor's superpixels and which superpixels each keeps.

GAN samplers return y = (1 - A) G(z) + x_hat with ||x_hat - A G(z)|| < xi (Eq. 8), where
**xi is a mean squared error over the anchor's pixels, in [-1, 1] pixel units** (the authors'
convention; xi = 0.05 equals 0.0125 in [0, 1] units).
"""

from __future__ import annotations

import abc
import copy
import time
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from ..data import check_images
from ..models.gan_parts import freeze
from .segmentation import anchor_mask


class Sampler(abc.ABC):
    """Base class: holds the bound image, its segments and per-sampler counters."""

    name = "sampler"

    def bind(self, image: torch.Tensor, segments: np.ndarray) -> Sampler:
        check_images(image[None], name="image")
        self.image = image.detach().float().cpu()
        self.segments = np.asarray(segments)
        self.n_features = int(self.segments.max()) + 1
        self._masks = torch.stack([anchor_mask(self.segments, [f]) for f in range(self.n_features)])
        return self

    def mask(self, anchor) -> torch.Tensor:
        """(H, W) 0/1 mask A of the anchor's superpixels."""
        anchor = [int(a) for a in anchor]
        if not anchor:
            return torch.zeros(self.segments.shape)
        return self._masks[anchor].amax(0)

    def reseed(self, seed: int) -> None:
        """Make the next draws a function of ``seed`` alone, whatever ran before: seeds torch's
        global RNG, which the GAN samplers draw their latents and thresholds from."""
        torch.manual_seed(seed)

    @abc.abstractmethod
    def sample(self, anchor, n: int) -> tuple[torch.Tensor, np.ndarray]:
        """``n`` perturbations of the bound image that keep ``anchor``, and their present-masks."""


class RandomStitching(Sampler):
    """The original Anchors image perturbation (marcotcr/anchor ``sample_fn_dummy``).

    Each non-anchor superpixel is replaced, with probability ``p_replace`` when the anchor has
    fewer than 5 superpixels (else always), by the same pixels of one random background image.
    """

    name = "random_stitching"

    def __init__(self, backgrounds: torch.Tensor, p_replace: float = 0.8, seed: int = 0):
        self.backgrounds = check_images(backgrounds, name="backgrounds").float().cpu()
        self.p_replace = p_replace
        self.gen = torch.Generator().manual_seed(seed)

    def reseed(self, seed: int) -> None:
        super().reseed(seed)
        self.gen.manual_seed(seed)  # the donor and superpixel draws come from this sampler's own generator

    def sample(self, anchor, n):
        anchor = [int(a) for a in anchor]
        p = self.p_replace if len(anchor) < 5 else 1.0
        present = torch.rand(n, self.n_features, generator=self.gen) >= p
        present[:, anchor] = True
        bg = self.backgrounds[torch.randint(len(self.backgrounds), (n,), generator=self.gen)]
        # (n, H, W) mask of kept pixels from the per-superpixel choice
        seg = torch.as_tensor(self.segments, dtype=torch.long)
        keep = present[:, seg].float()[:, None]
        return keep * self.image + (1 - keep) * bg, present.numpy()


def threshold_sample(xi: float, n: int, gen: torch.Generator | None = None) -> torch.Tensor:
    """Algorithm 2: n thresholds xi' < xi drawn from N(xi, (xi/6)^2), kept in (0, 2 xi), reflected below xi.

    The reflection is xi - |xi' - xi| (the authors' code; the paper's line 8 ``xi - xi'`` would be
    negative).  Mean about 0.87 xi.
    """
    out = torch.empty(0)
    while len(out) < n:
        x = xi + xi / 6 * torch.randn(2 * n + 8, generator=gen)
        x = x[(x > 0) & (x < 2 * xi)]
        x = torch.where(x > xi, 2 * xi - x, x)
        out = torch.cat([out, x])
    return out[:n]


@dataclass
class SearchStats:
    steps: int = 0  # Adam steps taken
    restarts: int = 0  # whole-batch restarts
    accepted: int = 0  # samples collected under their threshold
    over_threshold: int = 0  # samples filled in above xi because max_steps ran out (None cap: always 0)
    reused: int = 0  # samples served from the pool (reuse=True) without optimisation
    seconds: float = 0.0


def anchor_loss(out: torch.Tensor, target: torch.Tensor, A: torch.Tensor) -> torch.Tensor:
    """Per-sample MSE over the anchor's pixels, [-1, 1] units: sum(A (G(z) - x)^2) / (sum A * C)."""
    c = out.shape[1]
    return ((A * (out - target)) ** 2).flatten(1).sum(1) / (A.sum() * c + 1e-9)


def superpixel_sse(images: torch.Tensor, image: torch.Tensor, masks: torch.Tensor) -> torch.Tensor:
    """(n, M) squared error of each image to ``image`` summed over each superpixel's pixels and channels."""
    return torch.einsum("nhw,mhw->nm", ((images - image) ** 2).sum(1), masks.float())


class SamplePool:
    """Every generator image G(z) made for one bound image, with its squared error per superpixel.

    Sample reuse across candidate anchors (ours): the anchor loss of
    Eq. 8 is a pixel-weighted mean of per-superpixel errors, so one stored ``sse`` row (M values)
    gives the loss of a stored image under *every* candidate anchor at no generator cost.  A
    request for anchor A takes stored images with loss_A < their threshold that A has not used
    yet (each image counts at most once per anchor, as a fresh draw would), and only the rest is
    optimised.  The constraint ||x_hat - A G(z)|| < xi is checked for every served image, so it
    holds exactly as for freshly optimised ones; prior draws (``pool_init``) accepted this way are
    exact rejection samples of p(z | loss_A < xi).
    """

    PRIOR = ()  # origin of prior draws z ~ N(0, I); any other origin is the anchor a latent was optimised for

    def __init__(self, image: torch.Tensor, masks: torch.Tensor, capacity: int = 16384):
        self.image, self.masks, self.capacity = image, masks.float(), capacity
        self.n_pix = self.masks.flatten(1).sum(1) * image.shape[0]  # (M,) pixels x channels
        self.images = torch.empty(0, *image.shape)
        self.latents: torch.Tensor | None = None  # (n, nz) the z of each stored image
        self.sse = torch.empty(0, len(masks))
        self.used: dict[tuple, torch.Tensor] = {}
        self.origin: list[tuple] = []  # per stored image: PRIOR or the anchor key its latent was optimised for

    def __len__(self) -> int:
        return len(self.images)

    def add(
        self, images: torch.Tensor, latents: torch.Tensor, used_by: tuple | None = None, origin: tuple = PRIOR
    ) -> None:
        room = self.capacity - len(self)
        if room <= 0:
            return
        images = images[:room].detach().float().cpu()
        latents = latents[:room].detach().float().cpu().flatten(1)
        self.origin.extend([tuple(origin)] * len(images))
        self.latents = latents if self.latents is None else torch.cat([self.latents, latents])
        start = len(self)
        self.images = torch.cat([self.images, images])
        self.sse = torch.cat([self.sse, superpixel_sse(images, self.image, self.masks)])
        if used_by is not None:
            self._used(used_by)[start:] = True

    def _used(self, key: tuple) -> torch.Tensor:
        u = self.used.get(key, torch.zeros(0, dtype=torch.bool))
        if len(u) < len(self):
            u = torch.cat([u, torch.zeros(len(self) - len(u), dtype=torch.bool)])
            self.used[key] = u
        return u

    def loss(self, key: tuple) -> torch.Tensor:
        """Eq. 8's anchor loss (MSE over the anchor's pixels, [-1, 1] units) of every stored image."""
        idx = list(key)
        return self.sse[:, idx].sum(1) / (self.n_pix[idx].sum() + 1e-9)

    def from_origin(self, origins: set[tuple]) -> torch.Tensor:
        """(n,) bool: stored images whose origin is one of ``origins``."""
        return torch.tensor([o in origins for o in self.origin], dtype=torch.bool)

    def take(self, key: tuple, thresholds: torch.Tensor, n: int, own: bool = False) -> torch.Tensor:
        """Indices of up to ``n`` unused stored images with loss under ``thresholds`` (one per image).

        ``own``: only prior draws and images optimised for ``key`` itself.  An image optimised for another
        anchor B that happens to meet A's constraint is not a draw of A's distribution: it also matches x
        inside B, so it is closer to x than A's own samples and would inflate A's precision."""
        if not len(self):
            return torch.zeros(0, dtype=torch.long)
        used = self._used(key)
        ok = (self.loss(key) < thresholds) & ~used
        if own:
            ok &= self.from_origin({self.PRIOR, tuple(key)})
        ok = torch.nonzero(ok).flatten()
        pick = ok[torch.randperm(len(ok))[:n]]
        used[pick] = True
        return pick


class GANSampler(Sampler):
    """Algorithm 3 (batch sampling); Algorithm 1 is the case ``n_latents=1``.

    ``n_latents`` latents z ~ init are optimised with Adam on the anchor loss; each step the
    losses (ascending) are matched with the active thresholds (descending), every latent
    under its threshold is collected and replaced by a fresh one (collect-and-replace), and
    the next queued threshold takes its slot.  Only latents above their threshold get
    gradient.  After ``restart_steps`` steps without finishing, all latents are redrawn.

    ``reuse=True`` (ours) serves requests from a ``SamplePool`` of this image's earlier generator
    images (``pool_init`` prior draws plus every accepted latent, surplus included) before optimising.
    """

    name = "batch"

    def __init__(
        self,
        generator: nn.Module,
        xi: float = 0.05,
        n_latents: int = 64,
        lr: float = 1e-2,
        threshold_dist: bool = False,
        restart_steps: int = 1000,
        reset_adam: bool = True,
        bn_train: bool = False,
        nz: int | None = None,
        max_steps: int | None = None,
        reuse: bool = False,
        pool_init: int = 512,
        pool_max: int = 16384,
        warm: float | None = None,
        warm_top: int = 32,
        present_within_xi: bool = False,
        min_latents: int | None = None,
        channels_last: bool = True,
        pool_scope: str = "all",
        warm_from: str = "pool",
    ):
        # a private copy: BN-train updates running statistics, and the memory format below is set in place
        self.G = freeze(copy.deepcopy(generator), eval_mode=False)
        if channels_last:
            # NHWC weights: each Adam step (G forward + backward) about 15 % faster on 2 CPU cores, same
            # outputs to float rounding (benchmarks/ganchors_step_cost.py measures both side by side)
            self.G = self.G.to(memory_format=torch.channels_last)
        self.bn_train = bn_train
        self.xi, self.n_latents, self.lr = xi, n_latents, lr
        self.threshold_dist, self.restart_steps, self.reset_adam = threshold_dist, restart_steps, reset_adam
        self.nz = nz or getattr(generator, "nz", 100)
        # compute cap per sample() call: when reached, the lowest-loss latents fill the remaining
        # slots even above xi and are counted in stats.over_threshold (None: no cap, xi always holds)
        self.max_steps = max_steps
        # sample reuse (ours, not in the paper; see ``SamplePool``): keep every generator image of
        # this bound image and serve any request whose constraint it meets before optimising
        self.reuse, self.pool_init, self.pool_max = reuse, pool_init, pool_max
        # with reuse: the smallest batch a small request optimises (None: always n_latents)
        self.min_latents = n_latents if min_latents is None else min(min_latents, n_latents)
        # warm start (ours, needs reuse): new latents = the z of one of the ``warm_top`` stored images
        # of lowest loss under the requested anchor + N(0, warm^2 I); None: prior draws
        self.warm, self.warm_top = warm, warm_top
        if warm is not None and not reuse:
            raise ValueError("warm starts come from the sample pool: pass reuse=True with warm=...")
        # pool_scope "own": an anchor is served only prior draws and its own optimised latents (see
        # ``SamplePool.take``); "all": any stored image that meets its constraint (biased, kept for comparison)
        if pool_scope not in ("all", "own"):
            raise ValueError(f"pool_scope must be 'all' or 'own', got {pool_scope!r}")
        # warm_from "prior": warm starts are the anchor's lowest-loss *prior draws* of the pool, each used once
        # per anchor and perturbed by N(0, warm^2 I), drawn afresh for every candidate anchor; "pool": any stored
        # latent, accepted samples included, so that an anchor's samples collapse onto a few earlier ones
        if warm_from not in ("pool", "prior"):
            raise ValueError(f"warm_from must be 'pool' or 'prior', got {warm_from!r}")
        self.pool_scope, self.warm_from = pool_scope, warm_from
        self._warm_used: dict[tuple, torch.Tensor] = {}
        # shared present-masks (ours): also mark, and paste x on, every superpixel the sample
        # reconstructs within xi, so that the search reuses the sample for super-anchors (see ``sample``)
        self.present_within_xi = present_within_xi
        self.pool: SamplePool | None = None
        self._surplus: list[tuple[torch.Tensor, torch.Tensor]] = []
        self._warm_key: tuple | None = None
        self._got_z = torch.empty(0)
        self._chains: dict[tuple, torch.Tensor] = {}
        self.stats = SearchStats()

    def bind(self, image, segments):
        super().bind(image, segments)
        self._chains = {}
        self._warm_used = {}
        if self.reuse:
            self.pool = SamplePool(self.image, self._masks, self.pool_max)
            if self.pool_init:
                # exact rejection-sampling candidates: plain prior draws z ~ N(0, I)
                dev = next(self.G.parameters()).device
                z = torch.randn(self.pool_init, self.nz)
                with torch.no_grad():
                    self.pool.add(self._forward(z.to(dev)).cpu(), z)
        return self

    # -- hooks for subclasses
    def init_latents(self, k: int) -> torch.Tensor:
        if self.warm is not None and self._warm_key is not None and self.pool is not None and len(self.pool):
            if self.warm_from == "prior":
                return self._prior_warm(k)
            top = torch.argsort(self.pool.loss(self._warm_key))[: self.warm_top]
            pick = top[torch.randint(len(top), (k,))]
            return self.pool.latents[pick] + self.warm * torch.randn(k, self.nz)
        return torch.randn(k, self.nz)

    def _prior_warm(self, k: int) -> torch.Tensor:
        """k starts: the requested anchor's lowest-loss unused prior draws of the pool + N(0, warm^2 I).

        Every start is a distinct prior draw (used at most once per anchor), so an anchor's samples never
        descend from its own or another anchor's accepted latents; when the prior draws run out, prior latents."""
        key = self._warm_key
        prior = self.pool.from_origin({SamplePool.PRIOR})
        used = self._warm_used.get(key, torch.zeros(0, dtype=torch.bool))
        used = torch.cat([used, torch.zeros(len(self.pool) - len(used), dtype=torch.bool)])
        free = torch.nonzero(prior & ~used).flatten()
        pick = free[torch.argsort(self.pool.loss(key)[free])[:k]]
        used[pick] = True
        self._warm_used[key] = used
        z = self.pool.latents[pick] + self.warm * torch.randn(len(pick), self.nz)
        return torch.cat([z, torch.randn(k - len(pick), self.nz)])

    def thresholds(self, n: int) -> torch.Tensor:
        if self.threshold_dist:
            return threshold_sample(self.xi, n)
        return torch.full((n,), float(self.xi))

    def _forward(self, z: torch.Tensor) -> torch.Tensor:
        # BN-train variant: batch statistics of the latents being optimised (authors' speed-up)
        self.G.train(self.bn_train)
        return self.G(z)

    def reconstruct(self, A: torch.Tensor, n: int) -> tuple[torch.Tensor, torch.Tensor]:
        """n generator images G(z) with anchor loss under their thresholds, and those losses."""
        start = time.perf_counter()
        dev = next(self.G.parameters()).device
        target = (self.image * A).to(dev)
        Ad = A.to(dev)
        # with reuse a full batch is optimised even for small requests (the surplus feeds the pool),
        # except that requests of a few samples (the search's first pull of an arm is 1 sample)
        # optimise only max(min_latents, 4 n) latents: a step costs about linearly in the batch
        b = min(self.n_latents, max(self.min_latents, 4 * n)) if self.reuse else min(self.n_latents, n)
        queue = torch.sort(self.thresholds(max(n, b)), descending=True).values
        active, queue = queue[:b].clone(), queue[b:]
        chain = self._chains.pop(self._warm_key, None) if self.reuse else None
        spare = None
        if chain is not None:
            # continuation: the anchor's latents resume where its last request stopped, so repeated
            # requests of one anchor are one long run of Algorithm 3 (collected latents were replaced);
            # a smaller batch leaves the rest of the chain waiting, a larger one adds fresh latents
            spare = chain[b:] if len(chain) > b else None
            z = torch.cat([chain[:b], self.init_latents(max(0, b - len(chain)))])
            z = z.to(dev).requires_grad_(True)
        else:
            z = self.init_latents(b).to(dev).requires_grad_(True)
        opt = torch.optim.Adam([z], lr=self.lr)
        got_x, got_l, got_z = [], [], []
        n_got, since_restart, steps = 0, 0, 0
        while n_got < n:
            if self.max_steps is not None and steps >= self.max_steps:
                with torch.no_grad():
                    out = self._forward(z)
                    loss = anchor_loss(out, target, Ad)
                    take = torch.argsort(loss)[: n - n_got]
                    while len(take) < n - n_got:
                        take = torch.cat([take, take])[: n - n_got]
                got_x.append(out[take].cpu())
                got_l.append(loss[take].cpu())
                got_z.append(z.detach()[take].cpu())
                self.stats.over_threshold += len(take)
                done = take
                break
            out = self._forward(z)
            loss = anchor_loss(out, target, Ad)
            # sort-and-match: smallest loss <-> largest active threshold
            order = torch.argsort(loss.detach())
            thr = torch.empty_like(active)
            thr[order.cpu()] = torch.sort(active, descending=True).values
            ok = (loss.detach().cpu() < thr) & torch.isfinite(thr)
            if ok.any():
                idx = torch.nonzero(ok).flatten()
                take = idx[: n - n_got]
                if self.reuse and len(idx) > len(take):
                    rest = idx[len(take) :].to(dev)
                    self._surplus.append((out.detach()[rest].cpu(), z.detach()[rest].cpu()))
                got_x.append(out.detach()[take.to(dev)].cpu())
                got_z.append(z.detach()[take.to(dev)].cpu())
                got_l.append(loss.detach()[take.to(dev)].cpu())
                n_got += len(take)
                self.stats.accepted += len(take)
                if n_got >= n:
                    done = idx
                    break
            # a gradient step for the latents still above their threshold
            opt.zero_grad(set_to_none=True)
            (loss * (~ok).to(dev).float()).sum().backward()
            opt.step()
            if ok.any():
                # collect-and-replace: fresh latents, and the next queued thresholds, for collected slots
                with torch.no_grad():
                    z[idx.to(dev)] = self.init_latents(len(idx)).to(dev)
                keep = torch.ones(len(active), dtype=torch.bool)
                for u in thr[idx]:  # remove one matching threshold per accepted latent
                    j = torch.nonzero(keep & (active == u)).flatten()[0]
                    keep[j] = False
                nxt, queue = queue[: len(idx)], queue[len(idx) :]
                pad = torch.full((len(idx) - len(nxt),), float("-inf"))  # nothing left to match
                active = torch.cat([active[keep], nxt, pad])
                if self.reset_adam:
                    opt = torch.optim.Adam([z], lr=self.lr)
            self.stats.steps += 1
            steps += 1
            since_restart += 1
            if since_restart >= self.restart_steps:
                with torch.no_grad():
                    z.copy_(self.init_latents(len(z)).to(dev))
                opt = torch.optim.Adam([z], lr=self.lr)
                since_restart = 0
                self.stats.restarts += 1
        if self.reuse and self._warm_key is not None:
            with torch.no_grad():  # used latents never continue: they restart fresh
                z[done.to(dev)] = self.init_latents(len(done)).to(dev)
            z = z.detach().cpu()
            self._chains[self._warm_key] = z if spare is None else torch.cat([z, spare])
        self.stats.seconds += time.perf_counter() - start
        self._got_z = torch.cat(got_z)[:n]
        return torch.cat(got_x)[:n], torch.cat(got_l)[:n]

    def generate(self, anchor, n: int) -> torch.Tensor:
        """n generator images G(z) meeting the anchor's constraint (from the pool first, if reusing)."""
        A = self.mask(anchor)[None, None]
        if not self.reuse:
            return self.reconstruct(A, n)[0]
        if self.pool is None:
            raise RuntimeError("bind(image, segments) the sampler before sampling")
        key = tuple(sorted(int(a) for a in anchor))
        found = self.pool.take(key, self.thresholds(len(self.pool)), n, own=self.pool_scope == "own")
        self.stats.reused += len(found)
        parts = [self.pool.images[found]]
        if len(found) < n:
            self._surplus, self._warm_key = [], key
            try:
                fresh, _ = self.reconstruct(A, n - len(found))
            finally:
                self._warm_key = None
            self.pool.add(fresh, self._got_z, used_by=key, origin=key)
            if self._surplus:
                self.pool.add(
                    torch.cat([x for x, _ in self._surplus]), torch.cat([z for _, z in self._surplus]), origin=key
                )
            parts.append(fresh)
        return torch.cat(parts)

    def sample(self, anchor, n):
        """Eq. 8 composites (1 - A) G(z) + x_hat and their present-masks.

        Paper: a sample keeps its anchor's superpixels only.  ``present_within_xi`` (ours): every
        other superpixel whose own MSE to x is below xi is also kept (x pasted there) and marked
        present, as random stitching marks the superpixels it happens to keep.  The search then
        counts the sample for super-anchors too (``_make_tuples`` inherits a parent's samples that
        contain the new superpixel), and Eq. 8 still holds for the enlarged set P: the loss over P is
        a pixel-weighted mean of the anchor's loss (< xi' <= xi) and per-superpixel losses (< xi),
        for every sample that met its threshold (the step cap's fill-ins above xi meet it on neither).
        """
        anchor = [int(a) for a in anchor]
        gz = self.generate(anchor, n)
        present = np.zeros((n, self.n_features), dtype=bool)
        if self.present_within_xi:
            n_pix = self._masks.flatten(1).sum(1) * self.image.shape[0]
            mse = superpixel_sse(gz, self.image, self._masks) / n_pix  # (n, M)
            present[:] = (mse < self.xi).numpy()
        present[:, anchor] = True  # paper: a sample counts for its own anchor only
        seg = torch.as_tensor(self.segments, dtype=torch.long)
        keep = torch.as_tensor(present)[:, seg].float()[:, None]  # (n, 1, H, W)
        images = (1 - keep) * gz + keep * self.image  # Eq. 8: (1 - A) G(z) + x_hat, A = P
        return images, present


class SingleLatentSampler(GANSampler):
    """Algorithm 1: one latent at a time, gradient descent until ||x_hat - A G(z)|| < xi."""

    name = "alg1"

    def __init__(self, generator, xi=0.05, lr=1e-2, **kw):
        super().__init__(generator, xi=xi, n_latents=1, lr=lr, **kw)


class ThresholdDistributionSampler(GANSampler):
    """Algorithm 1 with per-sample thresholds xi' < xi from Algorithm 2."""

    name = "alg2"

    def __init__(self, generator, xi=0.05, lr=1e-2, **kw):
        super().__init__(generator, xi=xi, n_latents=1, lr=lr, threshold_dist=True, **kw)


class BatchSampler(GANSampler):
    """Algorithm 3 with G in eval mode (the paper's 'Batch' row; ``threshold_dist`` for Alg. 2 thresholds)."""

    name = "batch"


class BatchNormTrainSampler(GANSampler):
    """Algorithm 3 with G's BatchNorm in train mode and lr 1e-1 (the authors' 'Batch + BN' row)."""

    name = "batch_bn"

    def __init__(self, generator, xi=0.05, lr=1e-1, n_latents=64, **kw):
        super().__init__(generator, xi=xi, lr=lr, n_latents=n_latents, bn_train=True, **kw)


class EncoderSampler(GANSampler):
    """Algorithm 3 initialised by the diverse encoder (Eq. 12): z = P(x_hat)_k + N(0, I), k random."""

    name = "encoder"

    def __init__(
        self, generator, encoder: nn.Module, xi=0.05, lr=1e-1, n_latents=64, bn_train=True, noise: float = 1.0, **kw
    ):
        super().__init__(generator, xi=xi, lr=lr, n_latents=n_latents, bn_train=bn_train, **kw)
        self.encoder = encoder.eval()
        self.noise = noise
        self._mu = None

    def sample(self, anchor, n):
        A = self.mask(anchor)[None, None]
        with torch.no_grad():
            self._mu = self.encoder(self.image[None] * A, A)[0].cpu()  # (K, nz)
        return super().sample(anchor, n)

    def init_latents(self, k):
        pick = torch.randint(len(self._mu), (k,))
        return self._mu[pick] + self.noise * torch.randn(k, self.nz)

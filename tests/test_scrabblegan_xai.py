"""ScrabbleGAN explained: directions over words of any width, effects named by measurement, attention measures,
InfoGAN codes, the architecture trace, the word explorer and `genxai handwrite`."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from genxai.data._text import Alphabet
from genxai.gan_xai.directions import Deformator, DirectionModel, Reconstructor, discovery_step
from genxai.scrabblegan import attention as att
from genxai.scrabblegan import directions as dr
from genxai.scrabblegan import experiments as ex
from genxai.scrabblegan.infogan import ScrabbleInfoGANConfig, code_effects, code_grid
from genxai.scrabblegan.model import Discriminator, Generator, Recogniser, ScrabbleGAN

torch.set_num_threads(1)
DIGITS = "0123456789"


@pytest.fixture
def tmp_cache(tmp_path, monkeypatch):
    """A private model cache (the fetched data stay readable)."""
    monkeypatch.setenv("GENXAI_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path / "cache"


def _generator() -> Generator:
    torch.manual_seed(0)
    G = Generator(DIGITS, z_dim=16, ch=4, attention_at=0)
    with torch.no_grad():
        for _ in range(2):
            G(G.sample_latent(8), text=["1234"] * 8)
    return G.eval()


class BarWriter(nn.Module):
    """A stand-in generator with known controls: z[0] sets the stroke width, z[1] the slant of the bars (one bar
    per character); the rest of z does nothing."""

    def __init__(self):
        super().__init__()
        self.alphabet = Alphabet(DIGITS)
        self.latent_dim = 8
        self.dummy = nn.Parameter(torch.zeros(1))

    def forward(self, z: torch.Tensor, text) -> torch.Tensor:
        n = len(text[0])
        out = torch.ones(len(z), 1, 32, 16 * n)
        for b, zb in enumerate(z):
            width = int(np.clip(round(3 + zb[0].item()), 1, 7))
            slant = 0.1 * zb[1].item()
            for r in range(4, 28):
                up = 27 - r
                for c in range(n):
                    x = int(round(16 * c + 5 + slant * up))
                    out[b, 0, r, max(x, 0) : max(x, 0) + width] = -1.0
        return out


class Reads(nn.Module):
    """A stand-in recogniser whose greedy reading is always "11" (so the CER never changes)."""

    def __init__(self):
        super().__init__()
        self.dummy = nn.Parameter(torch.zeros(1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        frames = torch.tensor([2, 0, 2, 0])  # "1", blank, "1", blank
        return torch.nn.functional.one_hot(frames, 11).float()[:, None].repeat(1, len(x), 1).log_softmax(-1)


def test_word_latents_vary_the_width_between_batches_and_discovery_runs_on_them():
    G = _generator()
    for p in G.parameters():
        p.requires_grad_(False)
    source = dr.WordLatents(G, [2, 3, 5])
    gen = torch.Generator().manual_seed(0)
    lengths = set()
    for _ in range(12):
        texts = source.sample_condition(4, gen)["text"]
        assert len({len(t) for t in texts}) == 1 and all(c in DIGITS for t in texts for c in t)
        lengths.add(len(texts[0]))
    assert lengths == {2, 3, 5}
    model = DirectionModel(Deformator(16, 4), Reconstructor(4, width=8))
    before = model.deformator.matrix().detach().clone()
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    for _ in range(3):  # batches of different widths through one reconstructor
        out = discovery_step(source, model, opt, 4, 6.0, 0.5, generator=gen)
        assert np.isfinite(out["loss"])
    assert not torch.allclose(before, model.deformator.matrix())
    with pytest.raises(ValueError, match="positive"):
        dr.WordLatents(G, [])


def test_effects_are_named_by_the_measured_dominant_change():
    G, R = BarWriter(), Reads()
    directions = torch.eye(8)[:3]  # width, slant, nothing
    effects = dr.word_effects(G, directions, R, ["1234"] * 24, shift=2.0, generator=torch.Generator().manual_seed(0))
    assert effects[0]["effect"] == "width +" and effects[0]["d_width"] > 2
    assert effects[1]["effect"] == "slant +" and effects[1]["d_slant"] > 0.2
    assert effects[2]["effect"] == "none"
    assert all(e["cer_change"] == 0 for e in effects)
    assert dr.ranked(effects, "width") == [0] and dr.ranked(effects, "slant", max_cer_change=5) == [1]
    s = dr.summarize(effects)
    assert (s["n_width"], s["n_slant"], s["n_none"], s["n_width_or_slant_text_kept"]) == (1, 1, 1, 2)


def test_attention_measures_see_character_split_and_ink():
    n, h, w = 3, 4, 24  # 8 grid columns per character
    images = torch.ones(1, 1, 16, 48)
    images[..., 0:2, :] = -1.0  # ink on the top image rows -> grid row 0
    cols = torch.arange(w)
    own = (cols[None, :] // 8 == (torch.arange(h * w) % w)[:, None] // 8).float()  # (N, w)
    split = (own[:, None, :].repeat(1, h, 1) / own.sum(1)[:, None, None] / h).view(1, h * w, h, w)
    m = att.attention_measures(images, split, n)
    assert m["own_character_mass"] == pytest.approx(1.0) and m["own_character_uniform"] == pytest.approx(1 / 3)
    assert m["boundary_corr"] > 0.7  # 1 for the middle character (jumps at both its edges), ~0.7 for the outer ones
    uniform = torch.full((1, h * w, h, w), 1.0 / (h * w))
    u = att.attention_measures(images, uniform, n)
    assert u["own_character_mass"] == pytest.approx(1 / 3) and abs(u["boundary_corr"]) < 1e-6
    assert u["ink_share_of_grid"] == pytest.approx(0.25) and u["ink_mass_on_ink_queries"] == pytest.approx(0.25)
    on_ink = torch.zeros(1, h * w, h, w)
    on_ink[:, :, 0, :] = 1.0 / w  # every query attends to the inked row only
    assert att.attention_measures(images, on_ink, n)["ink_mass_off_ink_queries"] == pytest.approx(1.0)
    with pytest.raises(ValueError, match="equal width"):
        att.attention_measures(images, uniform, 5)


def test_word_attention_reads_the_generators_own_grid():
    G = _generator()
    images, maps = att.word_attention(G, torch.randn(2, 16), ["123", "456"])
    assert images.shape == (2, 1, 32, 48) and maps.shape == (2, 8 * 24, 8, 24)
    assert torch.allclose(maps.sum((2, 3)), torch.ones(2, 8 * 24), atol=1e-5)  # one distribution per query
    q = att.pick_queries(images, (8, 24), n_on=2, n_off=2, generator=torch.Generator().manual_seed(0))
    assert all(0 <= r < 8 and 0 <= c < 24 for qs in q for r, c in qs)


def test_infogan_codes_sit_in_the_first_block_chunk_and_train(tmp_cache):
    from genxai.models import get_or_train

    with pytest.raises(ValueError, match="do not fit"):
        ScrabbleInfoGANConfig(z_dim=16, n_cat=3, n_cont=2).build()
    cfg = ScrabbleInfoGANConfig(
        n_train=64,
        z_dim=16,
        g_ch=4,
        d_ch=4,
        r_width=4,
        epochs=2,
        steps_per_epoch=4,
        batch_size=4,
        n_cat=2,
        n_cont=1,
        attention_at=0,
    )
    model = cfg.build()
    z = torch.randn(3, 16)
    composed = model.compose(z, torch.tensor([0, 1, 1]), torch.tensor([[0.5], [-0.5], [0.0]]))
    assert model.code_slice == slice(4, 7)  # chunk 1 of four chunks of 4
    assert torch.equal(composed[:, :4], z[:, :4]) and torch.equal(composed[:, 7:], z[:, 7:])
    assert composed[:, 4:6].tolist() == [[1, 0], [0, 1], [0, 1]] and composed[:, 6].tolist() == [0.5, -0.5, 0.0]
    trained = get_or_train(cfg, "cpu", progress=False)
    hist = trained.record["history"]
    assert all(np.isfinite(h["mi_ce_cat"]) for h in hist)
    effects = code_effects(trained.model, Reads(), ["12"] * 8, torch.Generator().manual_seed(0))
    assert [e["code"] for e in effects] == ["categorical", "continuous 0"]
    cats, conts = code_grid(trained.model, "12", torch.Generator().manual_seed(0), n_steps=3)
    assert cats.shape == (2, 3, 1, 32, 32) and conts.shape == (1, 3, 1, 32, 32)
    assert not torch.equal(cats[0], cats[1])  # the category changes the writing


def test_architecture_trace_follows_the_modules():
    G = _generator()
    model = ScrabbleGAN(G, Discriminator(4), Recogniser(11, 4))
    stages = ex.trace_architecture(model, "1234")
    g = [s for s in stages if s["net"] == "G"]
    assert g[0]["shape"] == (G.c0, 4, 16) and g[-1]["shape"] == (1, 32, 64)
    assert any("attention" in s["stage"] for s in g)
    assert [s["net"] for s in stages].count("D") == 5 and stages[-1]["shape"][1] == "T=16"


def test_word_explorer_callbacks_headless():
    G = _generator()
    R = Recogniser(11, 4).eval()
    dirs = torch.eye(16)[:2]
    xp = ex.WordExplorer(G, R, dirs, ["width", "slant"], "123", torch.randn(16))
    first = xp.explorer.image.clone()
    assert first.shape == (1, 1, 32, 48)
    assert float(xp.explorer.probs.sum()) == pytest.approx(1.0, abs=1e-5)
    xp.explorer.sliders[0].value = 3.0  # the slider's callback moves along direction 0
    assert not torch.equal(first, xp.explorer.image)
    xp.text.value = "98765"  # the text box's callback writes the new word
    assert xp.explorer.image.shape[-1] == 80 and xp.explorer.class_names[1] == "reads '98765'"
    xp.set_word("12a")
    assert "not in the alphabet" in xp.explorer.status.value and xp.word == "98765"
    assert isinstance(xp.read(), str)


def test_handwrite_joins_words_in_one_style():
    G = _generator()
    img = ex.handwrite(G, "12 345", style=3)
    assert img.shape == (1, 32, 16 * 5 + ex.WORD_GAP)
    assert torch.equal(img, ex.handwrite(G, "12 345", style=3)) and not torch.equal(img, ex.handwrite(G, "12 345", 4))
    assert torch.all(img[..., 32 : 32 + ex.WORD_GAP] == 1)  # the gap is paper
    with pytest.raises(ValueError, match="not in the alphabet"):
        ex.handwrite(G, "hello")


def test_handwrite_command_without_and_with_a_cached_model(tmp_cache, tmp_path, capsys):
    from genxai import profiles
    from genxai.cli import main
    from genxai.models import get_or_train
    from genxai.scrabblegan.cli import cached_generator
    from genxai.scrabblegan.train import ScrabbleGANConfig

    out = tmp_path / "hand.png"
    assert main(["handwrite", "12 34", "--style", "1", "--out", str(out), "--profile", "smoke"]) == 1
    err = capsys.readouterr().err
    assert "no cached ScrabbleGAN" in err and "genxai reproduce --paper scrabblegan --profile smoke" in err
    assert not out.exists()
    get_or_train(ScrabbleGANConfig(**profiles.get("scrabblegan", "smoke").gan, seed=0), "cpu", progress=False)
    assert main(["handwrite", "12 34", "--style", "1", "--out", str(out), "--profile", "smoke"]) == 0
    from PIL import Image

    assert Image.open(out).size == (2 * (64 + ex.WORD_GAP), 64)
    assert main(["handwrite", "ab", "--out", str(tmp_path / "x.png"), "--profile", "smoke"]) == 1
    assert "not in the alphabet" in capsys.readouterr().err
    assert cached_generator("smoke").latent_dim == 16

"""ScrabbleGAN's model: locality of the filter bank, any width, CTC that learns, the balancing coefficient."""

from __future__ import annotations

import pytest
import torch

from genxai.gan_xai.directions import Deformator, DirectionModel, Reconstructor, discovery_step
from genxai.gan_xai.protocol import check_generator
from genxai.scrabblegan.model import Discriminator, Generator, Recogniser, balance_coefficient, ctc_loss

torch.set_num_threads(1)
DIGITS = "0123456789"
# each 3x3 conv widens a character's reach by one column at its resolution: two at 8n (2 output px each), two
# at 16n, one in the last block and the output conv: 4 + 2 + 1 + 1 = 8 output pixels on either side
REACH = 8


def _generator(attention: bool = True) -> Generator:
    torch.manual_seed(0)
    G = Generator(DIGITS, z_dim=16, ch=4, attention=attention)
    with torch.no_grad():  # a few training-mode passes set BatchNorm's running statistics
        for _ in range(3):
            G(G.sample_latent(16), text=["0123456789"[i : i + 4] for i in range(4)] * 4)
    return G.eval()


@pytest.mark.parametrize("attention", [False, True])
def test_changing_one_character_changes_only_its_receptive_field(attention):
    G = _generator(attention)
    if attention:  # a fresh SAGAN block (gamma = 0) is the identity; a trained one mixes globally (next test)
        G.attention.gamma.data.zero_()
    z = torch.randn(1, G.latent_dim)
    text, i = "31415", 2
    changed = text[:i] + "9" + text[i + 1 :]
    with torch.no_grad():
        diff = (G(z, text=[text]) - G(z, text=[changed])).abs()[0, 0].amax(0)  # per column
    cols = torch.nonzero(diff > 1e-6).flatten()
    lo, hi = 16 * i - REACH, 16 * (i + 1) + REACH
    assert len(cols) > 0 and cols.min() >= lo and cols.max() < hi
    assert diff[16 * i : 16 * (i + 1)].max() > 1e-4  # the character's own slot does change


def test_trained_attention_reaches_beyond_the_receptive_field():
    G = _generator(True)
    G.attention.gamma.data.fill_(1.0)
    z = torch.randn(1, G.latent_dim)
    with torch.no_grad():
        diff = (G(z, text=["31415"]) - G(z, text=["31915"])).abs()[0, 0].amax(0)
    assert diff[: 16 * 2 - REACH].max() > 1e-6  # the self-attention block is global


@pytest.mark.parametrize("n", [1, 2, 7, 10])
def test_output_shape_for_any_length(n):
    G = _generator()
    x = G(G.sample_latent(3), text=["7" * n] * 3)
    assert x.shape == (3, 1, 32, 16 * n) and x.abs().max() <= 1
    assert Discriminator(ch=4)(x).shape == (3,)
    assert Recogniser(11, width=4)(x).shape == (4 * n, 3, 11)


def test_bad_text_is_rejected_clearly():
    G = _generator()
    with pytest.raises(ValueError, match="not in the alphabet"):
        G(G.sample_latent(1), text=["12a"])
    with pytest.raises(ValueError, match="one length"):
        G(G.sample_latent(2), text=["12", "123"])


def test_balance_coefficient_equals_hand_computation():
    torch.manual_seed(1)
    image = torch.randn(2, 1, 4, 6, requires_grad=True)
    w1, w2 = torch.randn(2, 1, 4, 6), torch.randn(2, 1, 4, 6)
    loss_adv = (w1 * image).sum()  # gradient w1
    loss_r = 0.5 * (w2 * image**2).sum()  # gradient w2 * image
    a = balance_coefficient(loss_adv, loss_r, image, alpha=2.0)
    expected = 2.0 * w1.std() / (w2 * image.detach()).std()
    assert torch.allclose(a, expected, rtol=1e-5) and not a.requires_grad


def test_ctc_on_real_digit_strings_is_finite_and_falls():
    from genxai.data import DataMissingError, digit_strings

    try:
        data = digit_strings.load("train", n=120, seed=5)
    except DataMissingError as err:
        pytest.skip(str(err))
    torch.manual_seed(0)
    R = Recogniser(11, width=8)
    opt = torch.optim.Adam(R.parameters(), lr=2e-3)
    batches = data.length_batches(torch.Generator().manual_seed(0), 8)
    losses = []
    for step in range(24):
        x, texts = data.batch(batches[step % len(batches)])
        loss = ctc_loss(R(x), digit_strings.ALPHABET.encode_batch(texts))
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert all(torch.isfinite(torch.tensor(losses)))
    assert sum(losses[-6:]) / 6 < 0.7 * sum(losses[:6]) / 6
    # log-probabilities: every frame is a distribution over blank + 10 digits
    assert torch.allclose(R(x).exp().sum(-1), torch.ones(4 * len(texts[0]), len(texts)), atol=1e-5)


def test_generator_is_a_latent_generator_for_direction_discovery():
    G = check_generator(_generator())
    cond = G.sample_condition(4, torch.Generator().manual_seed(0))
    assert len(cond["text"]) == 4 and len({len(t) for t in cond["text"]}) == 1
    G.words = ["1234", "5678"]
    assert set(G.sample_condition(6)["text"]) <= {"1234", "5678"}
    for p in G.parameters():
        p.requires_grad_(False)
    model = DirectionModel(Deformator(G.latent_dim, 3), Reconstructor(3, width=4, hidden=8))
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    before = model.deformator.matrix().detach().clone()
    out = discovery_step(G, model, opt, 4, 6.0, 0.5, generator=torch.Generator().manual_seed(0))
    assert torch.isfinite(torch.tensor(out["loss"])) and not torch.equal(before, model.deformator.matrix())

"""ScrabbleGAN's data: MNIST digit strings, font-rendered words with held-out writers and words, IAM's format."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from genxai.data import digit_strings, handwriting
from genxai.data._text import Alphabet, TextSet


def _mnist_or_skip():
    from genxai.data import DataMissingError, mnist

    try:
        mnist.load_raw("test")
    except DataMissingError as err:
        pytest.skip(str(err))


def _fonts_or_skip():
    if not handwriting._complete():
        pytest.skip("handwriting fonts not fetched: run `genxai fetch handwriting`")


def test_alphabet_ctc_indices_and_greedy_decoding():
    a = Alphabet("ab")
    assert a.encode("ba") == [2, 1] and a.n_classes == 3
    # frames: a a blank a b b -> "aab"; blank separates repeated characters
    frames = torch.tensor([1, 1, 0, 1, 2, 2])
    scores = torch.nn.functional.one_hot(frames, 3).float()[:, None]  # (T, 1, C)
    assert a.decode_greedy(scores) == ["aab"]
    with pytest.raises(ValueError, match="not in the alphabet"):
        a.encode("abc")


def test_digit_strings_geometry_labels_and_split():
    _mnist_or_skip()
    train = digit_strings.load("train", n=200, seed=3)
    test = digit_strings.load("test", n=50, seed=3)
    assert {len(t) for t in train.texts} <= set(range(1, 9)) and len({len(t) for t in train.texts}) >= 6
    for p, t in zip(train.pixels, train.texts):
        assert p.shape == (32, 16 * len(t)) and t.isdigit()
        assert p.min() < 60  # dark ink
    assert np.mean(np.concatenate([p.ravel() for p in train.pixels]) > 200) > 0.5  # on white paper
    x, texts = train.batch(list(train.of_length(3))[:4])
    assert x.shape == (4, 1, 32, 48) and x.min() >= -1 and x.max() <= 1
    # a string is rebuilt from its own split's digits: the same seed gives other strings on the test split
    assert train.texts[:50] != test.texts
    # batches of one length each, covering full batches only
    batches = train.length_batches(torch.Generator().manual_seed(0), 8)
    assert all(len({len(train.texts[i]) for i in b.tolist()}) == 1 and len(b) == 8 for b in batches)


def test_compose_places_each_digit_in_its_slot():
    rng = np.random.default_rng(0)
    digit = np.zeros((28, 28), np.uint8)
    digit[4:24, 12:16] = 255  # a "1"
    page = digit_strings.compose([digit, digit, digit], rng)
    ink_cols = np.nonzero((255 - page).max(0) > 100)[0]
    # three strokes, one near the centre of each 16-px slot (jitter +-2 px, glyph a few px wide)
    centres = [c for c in (8, 24, 40) if np.any(np.abs(ink_cols - c) <= 5)]
    assert centres == [8, 24, 40] and page.shape == (32, 48)
    assert not np.any(np.abs(ink_cols - 16) <= 1) and not np.any(np.abs(ink_cols - 32) <= 1)  # gaps between


def test_held_out_writers_and_words_are_disjoint(tmp_path):
    words = tuple(f"w{chr(97 + i)}{chr(97 + j)}" for i in range(26) for j in range(26))
    train, test = handwriting.split_lexicon("train", words), handwriting.split_lexicon("test", words)
    assert not set(train) & set(test) and len(train) + len(test) == len(words)
    assert 0.03 < len(test) / len(words) < 0.2
    w_train, w_test = handwriting.split_writers("train"), handwriting.split_writers("test")
    assert not set(w_train) & set(w_test) and sorted(w_train + w_test) == list(range(len(handwriting.WRITERS)))
    (tmp_path / "list").write_text("apple\napple's\nZoo\nx\nabcdefghijk\nCafé\n")
    assert handwriting.lexicon(str(tmp_path / "list")) == ("Zoo", "apple")


def test_rendered_words_split_and_jitter_controls():
    _fonts_or_skip()
    test = handwriting.load("test", n=30, seed=1)
    assert {handwriting.WRITERS[w] for w in test.writers} <= set(handwriting.TEST_WRITERS)
    assert all(handwriting.is_test_word(t) for t in test.texts)
    font = handwriting.fonts_dir() / "ComicNeue-Regular.otf"
    plain = handwriting.render_word("hello", font)
    bold = handwriting.render_word("hello", font, stroke=2)
    assert plain.shape == bold.shape == (32, 80)
    assert (255 - bold.astype(float)).sum() > 1.2 * (255 - plain.astype(float)).sum()  # thicker strokes
    from genxai.scrabblegan.measures import slant_of

    upright = torch.from_numpy(handwriting.render_word("lll", font)).float()[None, None] / 127.5 - 1
    leaning = torch.from_numpy(handwriting.render_word("lll", font, slant=0.4)).float()[None, None] / 127.5 - 1
    assert slant_of(leaning).item() > slant_of(upright).item() + 0.1


def test_whole_font_families_are_held_out_and_every_writer_draws_every_letter():
    """Writer independence at the family level, and no writer that renders boxes or nothing for some letter."""
    train_names = [handwriting.WRITERS[i] for i in handwriting.split_writers("train")]
    for family in ("SteveHand", "patrick-hand", "reenie-beanie", "the-girl-next-door"):
        assert any(w.startswith(family) for w in handwriting.TEST_WRITERS)
        assert not any(w.startswith(family) for w in train_names), family
    assert len(train_names) >= 30 and len(handwriting.TEST_WRITERS) == 10
    _fonts_or_skip()
    letters = handwriting.ALPHABET.chars
    for name in handwriting.WRITERS:
        font = handwriting.fonts_dir() / name
        glyphs = {c: 255 - handwriting.render_word(c * 2, font).astype(np.int32) for c in letters}
        assert all(g.sum() > 0 for g in glyphs.values()), name
        # a font lacking glyphs draws the same fallback box for every missing letter
        distinct = {g.tobytes() for g in glyphs.values()}
        assert len(distinct) >= len(letters) - 2, (name, len(distinct))


def _write_iam_fixture(root):
    """A tiny IAM tree in the official format: words.txt and words/<a01>/<a01-000u>/<id>.png."""
    lines = [
        "#--- words.txt ---------------------------------------------------------------#",
        "# format: a01-000u-00-00 ok 154 1 408 768 27 51 AT A",
        "a01-000u-00-00 ok 154 408 768 27 51 AT A",
        "a01-000u-00-01 ok 154 507 766 213 48 NN MOVE",
        "a01-000u-00-02 err 154 796 764 70 50 TO to",
        "a01-000u-00-03 ok 154 919 757 166 78 VB stop",
        "a01-000u-00-04 ok 154 1185 754 126 61 NPT ,",
        "b02-010-01-00 ok 160 400 700 120 50 NN Gaitskell",
    ]
    (root / "words.txt").write_text("\n".join(lines) + "\n")
    for line in lines:
        if line.startswith("#"):
            continue
        wid = line.split()[0]
        form = "-".join(wid.split("-")[:2])
        folder = root / "words" / wid.split("-")[0] / form
        folder.mkdir(parents=True, exist_ok=True)
        arr = np.full((50, 120), 255, np.uint8)
        arr[20:30, 10:110] = 0
        Image.fromarray(arr).save(folder / f"{wid}.png")


def test_iam_loader_reads_the_official_format(tmp_path):
    _write_iam_fixture(tmp_path)
    both = handwriting.load_iam("train", root=tmp_path, test_forms_percent=0)
    # 'err' segmentation and punctuation-only words are dropped
    assert sorted(both.texts) == ["A", "Gaitskell", "MOVE", "stop"]
    for p, t in zip(both.pixels, both.texts):
        assert p.shape == (32, 16 * len(t))
    with pytest.raises(ValueError, match="no usable IAM words"):
        handwriting.load_iam("test", root=tmp_path, test_forms_percent=0)
    from genxai.data import DataMissingError

    with pytest.raises(DataMissingError, match="words.txt"):
        handwriting.load_iam("train", root=tmp_path / "nowhere")


def test_textset_rejects_mixed_lengths():
    ts = TextSet(
        [np.zeros((32, 16), np.uint8), np.zeros((32, 32), np.uint8)], ["a", "ab"], Alphabet("ab"), "t", "x", "y"
    )
    with pytest.raises(ValueError, match="one length"):
        ts.images([0, 1])
    with pytest.raises(ValueError, match="expected uint8"):
        TextSet([np.zeros((32, 20), np.uint8)], ["a"], Alphabet("ab"), "t", "x", "y")

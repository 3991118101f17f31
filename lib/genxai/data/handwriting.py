"""Handwritten-style words from offline fonts (one font file = one "writer"), and the IAM word loader.

IAM, RIMES and CVL need a registration, so the ``cpu`` profile renders words with handwriting fonts from Debian
packages and from npm's ``@fontsource`` handwriting faces (fetched by ``genxai fetch handwriting``, every .deb and
npm tarball checked by sha256; licences in :data:`PACKAGES` and :data:`FONTSOURCE`) and takes its lexicon from
Debian's ``wamerican`` word list (SCOWL): letters a-z A-Z, 2-10 characters.

Rendering (:func:`render_word`): the word is drawn large (64 px) with the writer's font on a band of the font's
ascent + descent (so x-height and baseline stay where the writer puts them), cut to its ink columns, then
jittered: stroke width (grey-level dilation or erosion), slant (a horizontal shear), an elastic distortion
(Simard et al. 2003: a Gaussian-smoothed random displacement field) and finally resized to ScrabbleGAN's (32, 16n).

Splits hold out writers *and* words: ``test`` words are written only by :data:`TEST_WRITERS` (one variant of each
multi-style family plus four font families never seen) and are drawn from the ~10 % of the lexicon whose hash puts
them in the test part, so neither a test writer nor a test word occurs in ``train``.

``load_iam(root)`` reads IAM's official ``words.txt`` + ``words/`` PNG tree for the ``paper`` profile.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import tarfile
import tempfile
from functools import lru_cache
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont
from scipy import ndimage

from .. import paths
from ._text import CHAR_WIDTH, HEIGHT, Alphabet, TextSet, fit_to_geometry

ALPHABET = Alphabet("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
MIN_LEN, MAX_LEN = 2, 10
TEST_WORD_PERCENT = 10
DEFAULT_N = {"train": 20_000, "test": 2_000}

#: Debian bookworm packages: (version, sha256 of the .deb, licence of the fonts / list).
PACKAGES = {
    "fonts-dkg-handwriting": ("0.17-1", "82ee9beae0313e11761af7bb81f4c3fdc91ddd6122ab78490e1b103b9f502709", "OFL-1.1"),
    "fonts-sjfonts": (
        "2.1-2",
        "f6fdb38cb13a7772ebbb03db21ca118125b136caa170e2a77b17d1f9f4c504f0",
        "GPL-2 + font exception",
    ),
    "fonts-tlwg-purisa-otf": (
        "1:0.7.3-1",
        "bfbf2eb9e8ab61a0c42383896bcead5cda4323adbe092351ee50ad0d0161afc1",
        "GPL-2+ with font exception",
    ),
    "fonts-kristi": ("20101220-1", "03cdbe9ca6cb5ea863ad652ea94313666f275de526c3cb01e252da93019001c2", "OFL-1.1"),
    "fonts-dancingscript": ("1.2-2", "987b8182611e1f3d9e7b19a82787614470dd8c4ed894a4dedbebc2308703b216", "OFL-1.1"),
    "fonts-ecolier-court": ("1.00-6", "8ce2aba588adffc3bff453dae91af24b26ba7d0ce458127ad38f68d4fd36415b", "OFL-1.1"),
    "fonts-humor-sans": ("1.0-4", "84bd0c40b65dc345e05396a4ffb64282c14fbbb6e7079126eeabc92bd9fe7311", "OFL-1.1"),
    "fonts-comic-neue": ("2.51-4", "6f002dc90d62fde01a2b51f333c09dc6c21ffbfc6ca22d05a84cc049b083c826", "OFL-1.1"),
    "wamerican": (
        "2020.12.07-2",
        "c8f8e2b2ad0d37bfdd41f0e40f1e4c8e5f907467d768a1d3698b164e9617f0b4",
        "SCOWL (permissive)",
    ),
}
#: npm ``@fontsource`` handwriting faces (Google Fonts): family -> (version, sha256 of the npm tarball, licence,
#: weights used).  The legible ones of the family list; all-capitals and flourished script faces are left out.
FONTSOURCE = {
    "annie-use-your-telescope": (
        "5.3.0",
        "ed1cea10322cff6e760b1c1d2cb3be8b5a3b08ddea41feae31f9f938f39fe1ab",
        "OFL-1.1",
        (400,),
    ),
    "architects-daughter": (
        "5.3.0",
        "791d2009fbdc46ca3eb942c27c62c0ee353668cd290dfad17f401b8488c727a1",
        "OFL-1.1",
        (400,),
    ),
    "caveat": ("5.3.0", "ebf746fc0667b9d10fcac7c8604e2ba40a264da85a1c9b48bd679c0af3221293", "OFL-1.1", (400, 700)),
    "coming-soon": ("5.3.0", "aac84961066a709d468766331ec2dcbe9c45bbf5260537ca859e411703d20395", "Apache-2.0", (400,)),
    "covered-by-your-grace": (
        "5.3.0",
        "1bd27256356f90c7bc7b463d36c05565ef4b3d655bc56d0dd7b7387114b1308d",
        "OFL-1.1",
        (400,),
    ),
    "gloria-hallelujah": (
        "5.3.0",
        "8755cc046e06286eeebee193f9f753bd0f03eec44c7bf188fc883db66e7a9d91",
        "OFL-1.1",
        (400,),
    ),
    "gochi-hand": ("5.3.0", "6e206b6139093775d8762503196d6d991408bd5f8393ea0357f4f89b75b195a3", "OFL-1.1", (400,)),
    "handlee": ("5.3.0", "e1fbeba16906d4807b42add8ab85dec533c3e667575be00ba96f050b5fc452ce", "OFL-1.1", (400,)),
    "indie-flower": ("5.3.0", "be380503f1e2c5ef08b8399a28f8cb2f1725527db2cb6aacec3037c2bd1b9083", "OFL-1.1", (400,)),
    "just-another-hand": (
        "5.3.0",
        "58754de1b8784c97defb535f0c7e5d683ace09c17533e20c0c8c627da8239d2f",
        "Apache-2.0",
        (400,),
    ),
    "kalam": ("5.3.0", "0aaf22523f3c57ae19f32c4f4df0d43d6efd01b7563a19cf4ed818cd5601426d", "OFL-1.1", (300, 400, 700)),
    "nothing-you-could-do": (
        "5.3.0",
        "dac48ef024df5e754bf8586157d73d0dba139d6353f28b9ec6de77b0dadf0add",
        "OFL-1.1",
        (400,),
    ),
    "over-the-rainbow": (
        "5.3.0",
        "5f231cee244b4c3a734da05bf23d4e07fec1062ffa1824358e933f59fc94e313",
        "OFL-1.1",
        (400,),
    ),
    "patrick-hand": ("5.3.0", "c3428d02610c7b8fa92b044cf766f8c30b88bb32a47460b4ac42fa14e0bcdcc0", "OFL-1.1", (400,)),
    "reenie-beanie": ("5.3.0", "8a2406f9b3c0b76199dcd87288ea40480fcd8547ba1af2f9f3156205f1688be9", "OFL-1.1", (400,)),
    "schoolbell": ("5.3.0", "08901884344f129587928d2260a84e6d8cc7baae54ecdce19ff225694314b704", "Apache-2.0", (400,)),
    "shadows-into-light": (
        "5.3.0",
        "0885aefd34c65bd79207cffff0771ae0527f227a202bc850f8cf9a12257fc7f1",
        "OFL-1.1",
        (400,),
    ),
    "sue-ellen-francisco": (
        "5.3.0",
        "93c9f047a1709b2879db10b52058ffba7c1642f0acbec422eb358433c937ee00",
        "OFL-1.1",
        (400,),
    ),
    "the-girl-next-door": (
        "5.3.0",
        "d4ac864cbcda87dffe808b5366045e8d75c149fd2a00d081cc8343ab36699545",
        "OFL-1.1",
        (400,),
    ),
    "waiting-for-the-sunrise": (
        "5.3.0",
        "6f9c645d858526553e72f0b56abb32742d5d4c10d6acdb392e5d3fa843ef7141",
        "OFL-1.1",
        (400,),
    ),
}


def fontsource_file(family: str, weight: int) -> str:
    """The Latin-subset WOFF file of ``family`` at ``weight`` inside the npm package (Pillow reads WOFF)."""
    return f"{family}-latin-{weight}-normal.woff"


#: the writers: font files, in a fixed order (index = writer id); the Debian fonts first
WRITERS = (
    "dkg.ttf",
    "dkgBd.ttf",
    "dkgIt.ttf",
    "dkgBI.ttf",
    "SteveHand.ttf",
    "Delphine.ttf",
    "Purisa.otf",
    "Purisa-Bold.otf",
    "Purisa-Oblique.otf",
    "Purisa-BoldOblique.otf",
    "Kristi.ttf",
    "DancingScript-Regular.otf",
    "DancingScript-Bold.otf",
    "Ecolier-court.ttf",
    "Humor-Sans.ttf",
    "ComicNeue-Regular.otf",
    "ComicNeue-Bold.otf",
    "ComicNeue-Italic.otf",
    "ComicNeue-Light.otf",
    "ComicNeue-LightItalic.otf",
    "ComicNeue-BoldItalic.otf",
    *(fontsource_file(family, w) for family, (_, _, _, weights) in FONTSOURCE.items() for w in weights),
)
#: held-out writers: one style of each multi-style family, and four whole families (SteveHand and three faces
#: of the npm set), so the test asks for writer independence, not only for a new weight of a known hand
TEST_WRITERS = (
    "dkgIt.ttf",
    "Purisa-BoldOblique.otf",
    "DancingScript-Bold.otf",
    "ComicNeue-Italic.otf",
    "SteveHand.ttf",
    fontsource_file("caveat", 700),
    fontsource_file("kalam", 700),
    fontsource_file("patrick-hand", 400),
    fontsource_file("reenie-beanie", 400),
    fontsource_file("the-girl-next-door", 400),
)
WORDLIST = "american-english"


class FetchError(RuntimeError):
    pass


def fonts_dir() -> Path:
    return paths.raw_dir("handwriting") / "fonts"


def wordlist_path() -> Path:
    return paths.raw_dir("handwriting") / WORDLIST


def _complete() -> bool:
    return wordlist_path().exists() and all((fonts_dir() / w).exists() for w in WRITERS)


def fetch(quiet: bool = False) -> Path:
    """Download the font packages (Debian .debs, npm tarballs) and the word list, check their sha256, keep fonts,
    their licences and the list.  Nothing is replaced unless every file arrived and verified."""
    if _complete():
        return fonts_dir()
    missing = [tool for tool in ("apt-get", "dpkg", "npm") if shutil.which(tool) is None]
    if missing:
        raise FetchError(
            f"{', '.join(missing)} not found: put the font files {', '.join(WRITERS)} into {fonts_dir()} and "
            f"Debian's /usr/share/dict/{WORDLIST} into {wordlist_path().parent} by hand"
        )
    target = paths.raw_dir("handwriting")
    target.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target) as tmp:
        work = Path(tmp)
        staged = work / "fonts"
        (staged / "LICENSES").mkdir(parents=True)
        found = _debian_files(work)
        found |= _fontsource_files(work, staged / "LICENSES")
        for w in WRITERS:
            if w not in found:
                raise FetchError(f"font file {w} is missing from the downloaded packages")
            shutil.copyfile(found[w], staged / w)
        shutil.copyfile(work / "root" / "usr" / "share" / "dict" / WORDLIST, work / WORDLIST)
        shutil.rmtree(fonts_dir(), ignore_errors=True)
        os.replace(staged, fonts_dir())
        os.replace(work / WORDLIST, wordlist_path())
    if not quiet:
        print(f"handwriting fonts ({len(WRITERS)} writers) and the {WORDLIST} word list -> {target}")
    return fonts_dir()


def _debian_files(work: Path) -> dict[str, Path]:
    """``apt-get download`` + ``dpkg -x`` the Debian packages into ``work/root``; font file name -> path."""
    from ..repro import sha256_file

    specs = [f"{name}={version}" for name, (version, _, _) in PACKAGES.items()]
    proc = subprocess.run(["apt-get", "download", *specs], cwd=work, capture_output=True, text=True, timeout=900)
    if proc.returncode != 0 and os.geteuid() == 0:
        subprocess.run(["apt-get", "update"], capture_output=True, text=True, timeout=900)
        proc = subprocess.run(["apt-get", "download", *specs], cwd=work, capture_output=True, text=True, timeout=900)
    if proc.returncode != 0:
        raise FetchError(f"`apt-get download {' '.join(specs)}` failed (try `apt-get update`):\n{proc.stderr[-2000:]}")
    for name, (_, digest, _) in PACKAGES.items():
        debs = list(work.glob(f"{name}_*.deb"))
        if len(debs) != 1:
            raise FetchError(f"apt-get download did not give one .deb for {name}: {debs}")
        actual = sha256_file(debs[0])
        if actual != digest:
            raise FetchError(f"{debs[0].name} has sha256 {actual}, expected {digest}; the Debian archive changed")
        subprocess.run(["dpkg", "-x", str(debs[0]), str(work / "root")], check=True, timeout=600)
    return {p.name: p for p in (work / "root" / "usr" / "share" / "fonts").rglob("*") if p.is_file()}


def _fontsource_files(work: Path, licences: Path) -> dict[str, Path]:
    """``npm pack`` the @fontsource faces, check each tarball's sha256, unpack the WOFF files we use and the
    licence; font file name -> path."""

    from ..repro import sha256_file

    packs = work / "npm"
    packs.mkdir()
    specs = [f"@fontsource/{family}@{version}" for family, (version, _, _, _) in FONTSOURCE.items()]
    proc = subprocess.run(
        ["npm", "pack", *specs, "--pack-destination", str(packs)], capture_output=True, text=True, timeout=900
    )
    if proc.returncode != 0:
        raise FetchError(f"`npm pack` of the @fontsource faces failed:\n{proc.stderr[-2000:]}")
    found: dict[str, Path] = {}
    for family, (version, digest, _, weights) in FONTSOURCE.items():
        tarball = packs / f"fontsource-{family}-{version}.tgz"
        if not tarball.exists():
            raise FetchError(f"npm pack did not give {tarball.name}")
        actual = sha256_file(tarball)
        if actual != digest:
            raise FetchError(f"{tarball.name} has sha256 {actual}, expected {digest}; the npm package changed")
        wanted = {f"package/files/{fontsource_file(family, w)}" for w in weights} | {"package/LICENSE"}
        with tarfile.open(tarball) as tf:
            members = [m for m in tf.getmembers() if m.name in wanted]
            if len(members) != len(wanted):
                got = {m.name for m in members}
                raise FetchError(f"{tarball.name} lacks {sorted(wanted - got)}")
            tf.extractall(work / "npm_root" / family, members=members, filter="data")
        root = work / "npm_root" / family / "package"
        shutil.copyfile(root / "LICENSE", licences / f"{family}.txt")
        for w in weights:
            found[fontsource_file(family, w)] = root / "files" / fontsource_file(family, w)
    return found


# --------------------------------------------------------------------------- lexicon and splits
def is_test_word(word: str) -> bool:
    """The fixed ~10 % of the lexicon held out for the test split (by a hash of the lower-cased word)."""
    return int(hashlib.sha1(word.lower().encode()).hexdigest(), 16) % 100 < TEST_WORD_PERCENT


@lru_cache(maxsize=2)
def lexicon(path: str | None = None) -> tuple[str, ...]:
    """Words of the list made of a-z A-Z only, 2-10 letters, sorted and unique."""
    p = Path(path) if path else wordlist_path()
    if not p.exists():
        from .base import DataMissingError

        raise DataMissingError(f"word list {p} is missing: run `genxai fetch handwriting` (or `make data`)")
    pattern = re.compile(rf"^[A-Za-z]{{{MIN_LEN},{MAX_LEN}}}$")
    return tuple(sorted({w for w in p.read_text(encoding="utf-8", errors="ignore").split() if pattern.match(w)}))


def split_lexicon(split: str, words: tuple[str, ...] | None = None) -> list[str]:
    words = words if words is not None else lexicon()
    want_test = split == "test"
    return [w for w in words if is_test_word(w) == want_test]


def split_writers(split: str) -> list[int]:
    return [i for i, w in enumerate(WRITERS) if (w in TEST_WRITERS) == (split == "test")]


# --------------------------------------------------------------------------- rendering
@lru_cache(maxsize=64)
def _font(path: str, size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(path, size)


def elastic(ink: np.ndarray, alpha: float, sigma: float, rng: np.random.Generator) -> np.ndarray:
    """Elastic distortion (Simard et al. 2003): displace pixels by a smooth random field of size ``alpha`` px.

    The field is drawn on a grid ``sigma`` px apart and interpolated cubically, which is as smooth as Simard's
    Gaussian-filtered per-pixel noise and an order of magnitude cheaper on large canvases.
    """
    if alpha <= 0:
        return ink
    h, w = ink.shape
    coarse = (max(2, int(np.ceil(h / sigma)) + 1), max(2, int(np.ceil(w / sigma)) + 1))
    yy, xx = np.meshgrid(np.arange(h), np.arange(w), indexing="ij")
    grid = [yy * (coarse[0] - 1) / max(h - 1, 1), xx * (coarse[1] - 1) / max(w - 1, 1)]
    dy = ndimage.map_coordinates(rng.uniform(-1, 1, coarse), grid, order=3) * alpha
    dx = ndimage.map_coordinates(rng.uniform(-1, 1, coarse), grid, order=3) * alpha
    return ndimage.map_coordinates(ink, [yy + dy, xx + dx], order=1, mode="constant", cval=0.0)


def render_word(
    word: str,
    font_path: str | Path,
    rng: np.random.Generator | None = None,
    slant: float = 0.0,
    stroke: int = 0,
    elastic_alpha: float = 0.0,
    size: int = 48,
) -> np.ndarray:
    """``word`` in the font at ``font_path`` as uint8 (32, 16n), 255 = paper.

    Args:
        slant: horizontal shear (x += slant * height above the baseline); > 0 leans right.
        stroke: > 0 thickens strokes by a grey dilation of that radius (pixels at ``size``), < 0 thins them
            (skipped where thinning would erase more than half of the ink: hairline fonts).
        elastic_alpha: strength of the elastic distortion in pixels (at ``size``); 0 switches it off.
    """
    ALPHABET.check(word)
    font = _font(str(font_path), size)
    ascent, descent = font.getmetrics()
    pad = size // 4
    left, _, right, _ = font.getbbox(word, anchor="ls")
    width = int(right - left) + 2 * pad + int(abs(slant) * (ascent + descent)) + 2
    canvas = Image.new("L", (width, ascent + descent + 2 * pad), 0)  # ink amount, 0 = paper
    x0 = pad - left + (int(abs(slant) * (ascent + descent)) if slant < 0 else 0)
    ImageDraw.Draw(canvas).text((x0, pad + ascent), word, font=font, fill=255, anchor="ls")
    if stroke:
        k = 2 * abs(stroke) + 1
        changed = canvas.filter(ImageFilter.MaxFilter(k) if stroke > 0 else ImageFilter.MinFilter(k))
        if stroke > 0 or np.asarray(changed).sum() > 0.5 * np.asarray(canvas).sum():
            canvas = changed
    if slant:
        # x_src = x_dst + slant * (y - baseline): pixels above the baseline move right for slant > 0
        base = pad + ascent
        canvas = canvas.transform(
            canvas.size, Image.Transform.AFFINE, (1, slant, -slant * base, 0, 1, 0), Image.Resampling.BILINEAR
        )
    ink = np.asarray(canvas, dtype=np.float32) / 255.0
    cols = np.nonzero(ink.max(0) > 0.1)[0]
    if len(cols) == 0:
        raise ValueError(f"font {Path(font_path).name} drew no ink for {word!r}")
    band = ink[pad // 2 : pad + ascent + descent + pad // 2, max(cols[0] - pad // 2, 0) : cols[-1] + pad // 2 + 1]
    if elastic_alpha > 0:
        band = elastic(band, elastic_alpha, sigma=size / 3, rng=rng or np.random.default_rng(0))
        cols = np.nonzero(band.max(0) > 0.1)[0]
        band = band[:, max(cols[0] - 2, 0) : cols[-1] + 3] if len(cols) else band
    paper = np.round(255.0 * (1.0 - band)).clip(0, 255).astype(np.uint8)
    return fit_to_geometry(paper, len(word))


def _render_jittered(word: str, writer: int, rng: np.random.Generator) -> np.ndarray:
    return render_word(
        word,
        fonts_dir() / WRITERS[writer],
        rng,
        slant=float(rng.uniform(-0.25, 0.35)),
        stroke=int(rng.integers(-1, 2)),
        elastic_alpha=float(rng.uniform(0.0, 3.0)),
    )


@lru_cache(maxsize=4)
def _build(split: str, n: int, seed: int) -> TextSet:
    if not _complete():
        from .base import DataMissingError

        raise DataMissingError(f"handwriting fonts missing in {fonts_dir()}: run `genxai fetch handwriting`")
    words = split_lexicon(split)
    writers = split_writers(split)
    rng = np.random.default_rng([seed, 0 if split == "train" else 1])
    # word lengths uniform over 2-10 (the lexicon itself is dominated by long words)
    by_len: dict[int, list[str]] = {}
    for w in words:
        by_len.setdefault(len(w), []).append(w)
    lengths = sorted(by_len)
    pixels, texts, who = [], [], []
    for _ in range(n):
        group = by_len[lengths[int(rng.integers(len(lengths)))]]
        word = group[int(rng.integers(len(group)))]
        writer = writers[int(rng.integers(len(writers)))]
        pixels.append(_render_jittered(word, writer, rng))
        texts.append(word)
        who.append(writer)
    source = (
        f"{len(writers)} font writers ({'held-out' if split == 'test' else 'training'}) x "
        f"{len(words):,} {'held-out ' if split == 'test' else ''}words of Debian wamerican"
    )
    return TextSet(pixels, texts, ALPHABET, "handwriting", split, source, np.asarray(who, dtype=np.int64))


def load(split: str = "train", n: int | None = None, seed: int = 0) -> TextSet:
    """``n`` seeded rendered words (default 20,000 train / 2,000 test); writers and words held out in ``test``."""
    if split not in ("train", "test"):
        raise ValueError(f"unknown split {split!r}: use 'train' or 'test'")
    if n is not None and n < 1:
        raise ValueError(f"n must be a positive number of words, got {n}")
    return _build(split, int(n or DEFAULT_N[split]), int(seed))


# --------------------------------------------------------------------------- IAM
IAM_ALPHABET = Alphabet("!\"#&'()*+,-./0123456789:;?ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")


def iam_dir() -> Path:
    return paths.raw_dir("iam")


def load_iam(
    split: str = "train",
    root: str | Path | None = None,
    n: int | None = None,
    seed: int = 0,
    test_forms_percent: int = 15,
    max_len: int = 20,
) -> TextSet:
    """IAM words from the official ``words.txt`` and ``words/<a01>/<a01-000u>/<id>.png`` tree.

    ``words.txt`` lines: ``id result graylevel x y w h tag transcription`` ('#' starts a comment).  Words whose
    segmentation is marked ``err``, whose transcription has characters outside :data:`IAM_ALPHABET`, that are
    punctuation only (the official ``rmPunct``) or longer than ``max_len`` are left out.  IAM's official
    splits are lists of lines distributed separately; here the split is by form (a seeded hash of the form id,
    ``test_forms_percent`` % of forms in ``test``), so one form's words never straddle the splits.
    """
    root = Path(root) if root else iam_dir()
    listing = root / "words.txt"
    if not listing.exists():
        from .base import DataMissingError

        raise DataMissingError(
            f"IAM words.txt not found in {root}: register at the FKI IAM site, download words.txt and words.tgz, "
            f"and unpack them into {root} (words.txt beside the words/ folder)"
        )
    pixels, texts = [], []
    for line_no, line in enumerate(listing.read_text(encoding="utf-8", errors="replace").splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        parts = line.split(" ")
        if len(parts) < 9:
            raise ValueError(f"{listing}:{line_no}: expected 9 fields `id result gray x y w h tag text`, got {line!r}")
        word_id, result, text = parts[0], parts[1], " ".join(parts[8:])
        if result != "ok" or not text or len(text) > max_len or not re.search(r"[A-Za-z0-9]", text):
            continue
        if any(c not in IAM_ALPHABET.chars for c in text):
            continue
        form = "-".join(word_id.split("-")[:2])
        in_test = int(hashlib.sha1(f"{seed}:{form}".encode()).hexdigest(), 16) % 100 < test_forms_percent
        if in_test != (split == "test"):
            continue
        png = root / "words" / word_id.split("-")[0] / form / f"{word_id}.png"
        if not png.exists():
            raise FileNotFoundError(f"{png} listed in {listing}:{line_no} is missing; unpack words.tgz into {root}")
        with Image.open(png) as im:
            grey = np.asarray(im.convert("L"), dtype=np.uint8)
        if grey.size == 0:
            continue
        pixels.append(fit_to_geometry(grey, len(text)))
        texts.append(text)
    if not texts:
        raise ValueError(f"no usable IAM words for split {split!r} in {listing}")
    ds = TextSet(pixels, texts, IAM_ALPHABET, "iam", split, f"IAM words in {root}")
    return ds.subset(n, seed)


__all__ = [
    "ALPHABET",
    "CHAR_WIDTH",
    "HEIGHT",
    "IAM_ALPHABET",
    "TEST_WRITERS",
    "WRITERS",
    "fetch",
    "lexicon",
    "load",
    "load_iam",
    "render_word",
]

"""The results gallery (genxai.gallery, `genxai report`): the committed results and small synthetic trees."""

from __future__ import annotations

import json
import warnings
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest
from PIL import Image

from genxai import gallery, paths
from genxai.cli import main

VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


class PageParser(HTMLParser):
    """Collects images, links and figures, and checks that every opened element is closed in order."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.errors: list[str] = []
        self.imgs: list[str] = []
        self.hrefs: list[str] = []
        self.tags: set[str] = set()
        self.figures: list[dict] = []
        self._caption: dict | None = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self.tags.add(tag)
        if tag == "img":
            self.imgs.append(a.get("src", ""))
            if self.figures:
                self.figures[-1]["img"] = a.get("src", "")
        if "href" in a:
            self.hrefs.append(a["href"])
        if tag == "figure":
            self.figures.append({"img": None, "caption": "", "missing": False})
        if tag == "figcaption":
            self._caption = self.figures[-1] if self.figures else None
            if self._caption is not None:
                self._caption["missing"] = "missing" in (a.get("class") or "")
        if tag not in VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag):
        if tag in VOID:
            return
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> closes <{self.stack[-1] if self.stack else None}>")
            return
        self.stack.pop()
        if tag == "figcaption":
            self._caption = None

    def handle_data(self, data):
        if self._caption is not None:
            self._caption["caption"] += data


def parse(html: str) -> PageParser:
    p = PageParser()
    p.feed(html)
    p.close()
    assert not p.errors, p.errors[:5]
    assert not p.stack, f"unclosed elements: {p.stack}"
    return p


def local_target(root: Path, ref: str) -> Path | None:
    parts = urlsplit(ref)
    if parts.scheme or not parts.path:  # in-page anchors have no path
        return None
    return (root / unquote(parts.path)).resolve()


# ---------------------------------------------------------------- the committed results
def committed_pngs() -> list[str]:
    root = paths.results_root()
    return sorted(p.relative_to(root).as_posix() for d in gallery.work_dirs(root) for p in d.glob("*.png"))


def test_committed_results_have_figures():
    assert len(committed_pngs()) > 0, "results/<work>/ holds no figure: the gallery tests would prove nothing"


def test_every_committed_figure_has_a_caption():
    missing = gallery.missing_captions(paths.results_root())
    assert not missing, f"add captions for these figures to lib/genxai/captions/<work>.json: {missing}"


def test_committed_gallery_lists_every_figure_and_only_local_files():
    root = paths.results_root()
    html = gallery.render(root)
    page = parse(html)
    assert sorted(page.imgs) == committed_pngs()
    for src in page.imgs:
        assert (root / src).is_file(), src
    for ref in page.hrefs:
        target = local_target(root, ref)
        if target is not None:
            assert target.exists(), f"broken link {ref}"
        elif not ref.startswith("#"):
            pytest.fail(f"link to a resource outside the results: {ref}")
    assert "http://" not in html and "https://" not in html
    assert "script" not in page.tags, "the gallery needs no JavaScript"
    # every figure has a real caption naming the paper figure
    assert len(page.figures) == len(page.imgs)
    for fig in page.figures:
        assert not fig["missing"] and len(fig["caption"].split()) >= 6, fig
    for work in gallery.work_dirs(root):
        if (work / "paper_vs_ours.csv").is_file():
            assert f'id="{work.name}"' in html
    assert html.count('class="dataframe pvo"') == sum(
        (w / "paper_vs_ours.csv").is_file() for w in gallery.work_dirs(root)
    )


def test_caption_files_name_existing_works_and_are_well_formed():
    from importlib import resources

    files = [f for f in resources.files("genxai.captions").iterdir() if f.name.endswith(".json")]
    assert files
    for f in files:
        spec = gallery.load_captions(f.name.removesuffix(".json"))
        assert spec["captions"], f.name
        if spec["page"]:
            assert spec["page"].startswith("docs/"), spec["page"]


# ---------------------------------------------------------------- synthetic result trees
def _png(path: Path, size=(40, 20)) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", size, (200, 30, 30)).save(path)


def _tree(root: Path) -> Path:
    work = root / "ganmex"
    _png(work / "fig02a_saliency_mnist.png", (64, 32))
    _png(work / "fig99_new_figure.png")
    (work / "paper_vs_ours.csv").write_text('metric,paper,ours,verdict,note\n"L(A) <b>overall</b>",0.747,0.566,met,x\n')
    (work / "run-01_one_vs_one.json").write_text(
        json.dumps(
            {
                "git_sha": "0123456789abcdef",
                "git_dirty": True,
                "profile": "cpu",
                "wall_time_s": 150.0,
                "torch_threads": 2,
                "device": "cpu",
                "written_at": "2026-01-01T00:00:00+00:00",
            }
        )
    )
    (work / "01_one_vs_one.ipynb").write_text("{}")
    _png(root / "smoke" / "ganmex" / "fig02a_saliency_mnist.png")  # a profile folder, not a work
    return root


def test_synthetic_tree_page(tmp_path):
    root = _tree(tmp_path / "results")
    html = gallery.render(root)
    page = parse(html)
    assert sorted(page.imgs) == ["ganmex/fig02a_saliency_mnist.png", "ganmex/fig99_new_figure.png"]
    assert 'width="64" height="32"' in html
    # the captioned figure comes first, with its paper figure; the new one says where its caption goes
    first, second = page.figures
    assert first["img"].endswith("fig02a_saliency_mnist.png") and "Fig. 2A" in first["caption"]
    assert second["missing"] and "lib/genxai/captions/ganmex.json" in second["caption"]
    assert gallery.missing_captions(root) == ["ganmex/fig99_new_figure.png"]
    # whatever columns the run wrote, escaped
    assert "<th>verdict</th>" in html and "&lt;b&gt;overall&lt;/b&gt;" in html and "<b>overall" not in html
    # provenance
    assert "0123456789" in html and "0123456789a" not in html and "uncommitted changes" in html
    assert "2.5 min" in html
    assert 'href="ganmex/01_one_vs_one.ipynb"' in html
    assert "smoke" not in html


def test_write_gallery_is_atomic_deterministic_and_warns(tmp_path):
    root = _tree(tmp_path / "results")
    with pytest.warns(UserWarning, match="fig99_new_figure"):
        path = gallery.write_gallery(root)
    assert path == root / "index.html"
    first = path.read_bytes()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        gallery.write_gallery(root)
    assert path.read_bytes() == first
    assert sorted(p.name for p in root.iterdir()) == ["ganmex", "index.html", "smoke"]  # no temporary left


def test_write_gallery_errors_name_the_fix(tmp_path):
    with pytest.raises(FileNotFoundError, match="genxai reproduce"):
        gallery.write_gallery(tmp_path / "absent")
    (tmp_path / "empty" / "smoke").mkdir(parents=True)
    with pytest.raises(FileNotFoundError, match="genxai reproduce"):
        gallery.write_gallery(tmp_path / "empty")


def test_check_captions_rejects_incomplete_entries():
    ok = gallery.check_captions({"title": "t", "captions": {"fig01": {"paper": "Fig. 1", "shows": "x"}}}, "f.json")
    assert ok["order"] == 1000 and ok["page"] is None
    with pytest.raises(ValueError, match="'shows'"):
        gallery.check_captions({"title": "t", "captions": {"fig01": {"paper": "Fig. 1", "shows": " "}}}, "f.json")
    with pytest.raises(ValueError, match="f.json needs a string 'title'"):
        gallery.check_captions({"captions": {}}, "f.json")


def test_cli_report(tmp_path, capsys):
    root = _tree(tmp_path / "results")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert main(["report", "--results", str(root)]) == 0
    assert (root / "index.html").is_file()
    assert "gallery:" in capsys.readouterr().out
    assert main(["report", "--results", str(tmp_path / "nothing")]) == 1
    assert "genxai reproduce" in capsys.readouterr().err


def test_committed_gallery_is_current():
    page = paths.results_root() / gallery.PAGE
    assert page.is_file(), "results/index.html is missing: run `genxai report` and commit it"
    assert page.read_text() == gallery.render(paths.results_root()), (
        "results/index.html is stale (results or captions changed): run `genxai report` and commit it"
    )

"""Course exercises: every source builds with otter assign, the solution gets full marks through
``otter run``, the student notebook holds no solution and scores 0 when blank, and the hidden tests
catch mistakes that the visible tests let through.

Grading executes notebooks in a Jupyter kernel, so each exercise is built once per session (the
build grades the solution) and graded once more (the blank student notebook): two notebook
executions per exercise.
"""

from __future__ import annotations

import json
import re
import zipfile

import nbformat
import pytest

from genxai import cli
from genxai.course import builder, grader
from genxai.course.builder import CourseError

otter = pytest.importorskip("otter", reason="the course extra is not installed: pip install -e '.[course]'")

EXERCISES = {e.name: e for e in builder.discover()}
WORKS = ("ganmex", "ganchors", "trains", "gan_xai")


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """Builds an exercise on first use (the build grades its solution) and remembers the folder."""
    root = tmp_path_factory.mktemp("course_build")
    folders: dict[str, object] = {}

    def get(name):
        if name not in folders:
            try:
                folders[name] = builder.build_exercise(EXERCISES[name], root)
            except Exception as err:  # one broken exercise fails its own tests, not the others'
                folders[name] = err
        if isinstance(folders[name], Exception):
            raise folders[name]
        return folders[name]

    get.root = root
    return get


def test_every_work_has_an_exercise():
    assert {e.work for e in EXERCISES.values()} >= set(WORKS)
    for ex in EXERCISES.values():
        info = ex.info()
        assert info["minutes"] <= 60 and len(info["objectives"]) >= 2
        assert sum(q["points"] for q in info["questions"]) > 0


@pytest.mark.parametrize("name", sorted(EXERCISES))
def test_build_grades_the_solution_with_full_marks(built, name):
    folder = built(name)
    info = json.loads((folder / "exercise.json").read_text())
    score = json.loads((folder / "solution_score.json").read_text())
    assert score["error"] is None
    assert set(score["questions"]) == {q["name"] for q in info["questions"]}
    for q in info["questions"]:
        assert score["questions"][q["name"]]["score"] == q["points"] > 0, score["questions"][q["name"]]
    assert score["score"] == score["possible"] == sum(q["points"] for q in info["questions"])
    # the build leaves only its outputs
    assert not list(folder.parent.glob(f".{name}.*"))
    with zipfile.ZipFile(folder / "autograder" / builder.ZIP_NAME) as z:
        assert {f"tests/{q['name']}.py" for q in info["questions"]} <= set(z.namelist())


@pytest.mark.parametrize("name", sorted(EXERCISES))
def test_student_notebook_has_no_solution_and_no_hidden_test(built, name):
    folder = built(name)
    source = EXERCISES[name].read()
    student = nbformat.read(folder / "student" / f"{name}.ipynb", as_version=4)
    solution = nbformat.read(folder / "autograder" / f"{name}.ipynb", as_version=4)
    lines = builder.solution_lines(source)
    assert len(lines) >= 3, "the exercise must ask the student to write something"
    assert builder.leaked_solution_lines(source, student) == []
    assert builder.leaked_solution_lines(source, source), "the leak check must see an unstripped solution"
    text = "\n".join(c.source for c in student.cells)
    assert "SOLUTION" not in text and "# HIDDEN" not in text
    hidden = builder.hidden_test_names(solution)
    assert hidden, "every exercise has hidden tests"
    assert not [n for n in hidden if n in json.dumps(student, default=str)]
    # learning objectives and time are shown to the student
    info = json.loads((folder / "exercise.json").read_text())
    assert f"**Estimated time:** {info['minutes']} minutes" in text
    assert all(o in text for o in info["objectives"])
    # each question offers a visible check with a helpful message
    for q in info["questions"]:
        assert f'grader.check("{q["name"]}")' in text
    visible_tests = student.metadata["otter"]["tests"]
    assert set(visible_tests) == {q["name"] for q in info["questions"]}
    assert all(re.search(r'assert .+, [f]?["\']', t) for t in visible_tests.values()), (
        "visible tests explain what is wrong"
    )


@pytest.mark.parametrize("name", sorted(EXERCISES))
def test_blank_student_notebook_scores_zero_everywhere(built, name, tmp_path, capsys):
    folder = built(name)
    blank = folder / "student" / f"{name}.ipynb"
    out = tmp_path / "blank.score.json"
    code = cli.main(
        [
            "course",
            "grade",
            str(blank),
            "--build",
            str(built.root),
            "-o",
            str(out),
            "--csv",
            str(tmp_path / "grades.csv"),
        ]
    )
    assert code == 0, capsys.readouterr()
    score = json.loads(out.read_text())
    assert score["exercise"] == name and score["error"] is None
    assert score["questions"] and all(v["score"] == 0 for v in score["questions"].values()), score["questions"]
    assert score["score"] == 0 and score["possible"] == sum(v["possible"] for v in score["questions"].values()) > 0
    rows = (tmp_path / "grades.csv").read_text().splitlines()
    assert rows[0].startswith("submission,exercise,") and len(rows) == 2 and f",{name}," in rows[1]


def test_an_endless_submission_is_stopped(built, tmp_path):
    folder = built("ganchors_kl_bounds")
    nb = nbformat.v4.new_notebook()
    nb.metadata["otter"] = {"assignment_name": "ganchors_kl_bounds"}
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [nbformat.v4.new_code_cell("import time\nwhile True:\n    time.sleep(0.01)")]
    sub = tmp_path / "endless.ipynb"
    nbformat.write(nb, sub)
    score = grader.grade(sub, exercise_dir=folder, timeout=5)
    assert "grading stopped after 5 s" in score["error"]
    assert (
        score["score"] == 0
        and score["possible"] == 6
        and set(score["questions"]) == {"q1_kl_bernoulli", "q2_kl_bounds", "q3_precision_verdict"}
    )
    assert 5 <= score["seconds"] < 60


# --------------------------------------------------------------------------- hidden tests catch mistakes
#: Plausible wrong answers that pass every visible test of their question; a hidden test must fail.
MISTAKES = {
    "ganmex_one_vs_one": [
        (
            "q1_inverse_localisation",
            """
def inverse_localisation(attr, distinguishing):   # forgets |A|: signed attributions cancel
    s = attr.sum(1)
    d = distinguishing.bool()
    return ((s * ~d).flatten(1).sum(1) / (~d).flatten(1).sum(1)) / ((s * d).flatten(1).sum(1) / d.flatten(1).sum(1))
""",
        ),
        (
            "q2_integrated_gradients",
            """
def integrated_gradients(model, x, target, baseline, n_steps=64):   # one baseline for the whole batch
    b = baseline[:1].expand_as(x)
    total = torch.zeros_like(x)
    for k in range(n_steps):
        p = (b + (k + 0.5) / n_steps * (x - b)).detach().requires_grad_(True)
        total += torch.autograd.grad(model(p)[:, target].sum(), p)[0]
    return ((x - b) * total / n_steps).detach()
""",
        ),
    ],
    "ganchors_kl_bounds": [
        (
            "q3_precision_verdict",
            """
def precision_verdict(positives, n, tau=0.95, delta=0.1, eps=0.05):   # ignores the tolerance eps
    mean, level = positives / n, np.log(1 / delta) / n
    if (mean >= tau and kl_lower(mean, level) < tau) or (mean < tau and kl_upper(mean, level) >= tau):
        return "sample more"
    return "accept" if mean >= tau else "reject"
""",
        ),
        (
            "q2_kl_bounds",
            """
def kl_upper(p, level, n_iter=16):   # a Python `if` on the midpoint: right for one arm, not for an array
    lo, hi = float(p), min(float(p) + (float(level) / 2) ** 0.5, 1.0)
    for _ in range(n_iter):
        mid = (lo + hi) / 2
        if kl_bernoulli(p, mid) > level:
            hi = mid
        else:
            lo = mid
    return hi
""",
        ),
    ],
    "trains_gradient_penalty": [
        (
            "q2_gradient_penalty",
            """
def gradient_penalty(critic, real, fake, eps):   # no create_graph: the critic never learns from it
    x_hat = interpolate(real, fake, eps).requires_grad_(True)
    (grad,) = torch.autograd.grad(critic(x_hat).sum(), x_hat)
    return ((grad.flatten(1).norm(2, dim=1) - 1) ** 2).mean()
""",
        ),
        (
            "q3_frontier_bisection",
            """
def frontier_t(decode, classifier, z_a, z_b, class_a, tol=0.02, max_steps=30):   # returns the last probe
    with torch.no_grad():
        lo, hi = torch.zeros(len(z_a)), torch.ones(len(z_a))
        for _ in range(max_steps):
            mid = (lo + hi) / 2
            p = classifier(decode((1 - mid)[:, None] * z_a + mid[:, None] * z_b)).softmax(1)[:, class_a]
            if ((p - 0.5).abs() <= tol).all():
                break
            lo, hi = torch.where(p > 0.5, mid, lo), torch.where(p > 0.5, hi, mid)
        return mid
""",
        ),
    ],
    "gan_xai_infogan_matching": [
        (
            "q2_matched_accuracy",
            """
def matched_accuracy(codes, labels):   # each code takes its most frequent label: not one-to-one
    counts = contingency(codes, labels, int(codes.max()) + 1, int(labels.max()) + 1)
    return float(counts.max(1).sum() / len(codes)), {int(c): int(counts[c].argmax()) for c in range(len(counts))}
""",
        ),
        (
            "q3_direction_loss",
            """
def direction_loss(G, deformator, reconstructor, z, k, eps, shift_weight=0.25):   # drops the weight
    with torch.no_grad():
        images = G(z)
    logits, eps_hat = reconstructor(images, G(z + deformator(k, eps)))
    return F.cross_entropy(logits, k) + (eps_hat - eps).abs().mean()
""",
        ),
    ],
}


def _solution_env(notebook) -> dict:
    """Run the solution notebook's code in this process, without otter's own cells."""
    env: dict = {"__name__": "__main__"}
    for cell in notebook.cells:
        if cell.cell_type != "code":
            continue
        lines = [l for l in cell.source.splitlines() if "grader" not in l and "import otter" not in l]
        exec(compile("\n".join(lines), "<solution>", "exec"), env)
    return env


def _run_question(folder, question: str, env: dict):
    from otter.test_files.exception_test import ExceptionTestFile

    with zipfile.ZipFile(folder / "autograder" / builder.ZIP_NAME) as z:
        path = folder.parent / f".{folder.name}-{question}.py"
        path.write_bytes(z.read(f"tests/{question}.py"))
    try:
        test_file = ExceptionTestFile.from_file(str(path))
        test_file.run(env)
    finally:
        path.unlink()
    return [(r.test_case.hidden, r.passed) for r in test_file.test_case_results]


def test_every_work_has_mistakes_to_catch():
    assert set(MISTAKES) == set(EXERCISES)


@pytest.mark.parametrize("name", sorted(MISTAKES))
def test_hidden_tests_catch_what_visible_tests_miss(built, name):
    folder = built(name)
    env = _solution_env(nbformat.read(folder / "autograder" / f"{name}.ipynb", as_version=4))
    for question, wrong in MISTAKES[name]:
        assert all(passed for _, passed in _run_question(folder, question, env)), f"{question}: the solution fails"
        mistaken = dict(env)
        exec(compile(wrong, "<mistake>", "exec"), mistaken)
        results = _run_question(folder, question, mistaken)
        assert all(passed for hidden, passed in results if not hidden), (
            f"{question}: the mistake should pass the visible tests (it is meant to test the hidden ones)"
        )
        assert not all(passed for hidden, passed in results if hidden), f"{question}: no hidden test caught it"


# --------------------------------------------------------------------------- fast checks of the tooling
def test_bad_sources_are_refused(tmp_path):
    work = tmp_path / "ganmex"
    work.mkdir()
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_raw_cell("# BEGIN QUESTION\nname: q1\npoints: 1")]
    path = work / "x.ipynb"
    nbformat.write(nb, path)
    ex = builder.discover(root=tmp_path)[0]
    with pytest.raises(CourseError, match="genxai_course"):
        ex.info()
    nb.metadata["genxai_course"] = {"title": "t", "minutes": 0, "objectives": ["o"]}
    nbformat.write(nb, path)
    with pytest.raises(CourseError, match="minutes"):
        ex.info()
    nb.metadata["genxai_course"]["minutes"] = 10
    nb.cells.insert(0, nbformat.v4.new_raw_cell("# ASSIGNMENT CONFIG\nname: x"))
    nbformat.write(nb, path)
    with pytest.raises(CourseError, match="ASSIGNMENT CONFIG"):
        ex.info()
    with pytest.raises(CourseError, match="no exercises for work 'nope'"):
        builder.discover("nope", root=tmp_path)


def test_grading_refuses_unusable_submissions(tmp_path, monkeypatch):
    not_nb = tmp_path / "answers.txt"
    not_nb.write_text("42")
    with pytest.raises(CourseError, match="notebooks"):
        grader.grade(not_nb)
    nb = nbformat.v4.new_notebook()
    nb.metadata["otter"] = {"assignment_name": "ganmex_one_vs_one"}
    sub = tmp_path / "alice.ipynb"
    nbformat.write(nb, sub)
    monkeypatch.setattr(grader, "build_dir", lambda: tmp_path / "nothing_built")
    with pytest.raises(CourseError, match="not built.*genxai course build"):
        grader.grade(sub)
    assert grader.exercise_of(sub) == "ganmex_one_vs_one"
    assert grader.score_path(sub) == tmp_path / "alice.score.json"
    assert grader.score_path(sub, tmp_path / "scores", many=True) == tmp_path / "scores" / "alice.score.json"


def test_csv_collects_score_files(tmp_path):
    both = {"q1": {"score": 3.0, "possible": 3.0}, "q2": {"score": 0.0, "possible": 2.0}}
    records = [
        {
            "submission": "a.ipynb",
            "exercise": "e",
            "score": 3.0,
            "possible": 5.0,
            "percent": 60.0,
            "error": None,
            "questions": both,
        },
        {
            "submission": "b.ipynb",
            "exercise": "e",
            "score": 0.0,
            "possible": 5.0,
            "percent": 0.0,
            "error": "grading stopped",
            "questions": {"q1": {"score": 0.0, "possible": 3.0}},
        },
    ]
    paths = []
    for r in records:
        paths.append(tmp_path / f"{r['submission']}.score.json")
        paths[-1].write_text(json.dumps(r))
    assert cli.main(["course", "csv", *map(str, paths), "-o", str(tmp_path / "grades.csv")]) == 0
    rows = (tmp_path / "grades.csv").read_text().splitlines()
    assert rows == [
        "submission,exercise,q1,q2,score,possible,percent,error",
        "a.ipynb,e,3.0,0.0,3.0,5.0,60.0,",
        "b.ipynb,e,0.0,,0.0,5.0,0.0,grading stopped",
    ]
    (tmp_path / "junk.json").write_text("[1, 2]")
    with pytest.raises(CourseError, match="not a score JSON"):
        grader.read_scores([tmp_path / "junk.json"])


def test_course_list_shows_objectives(capsys):
    assert cli.main(["course", "list"]) == 0
    out = capsys.readouterr().out
    for ex in EXERCISES.values():
        assert ex.name in out and ex.info()["objectives"][0] in out

"""Every notebook follows the pattern, and has an up-to-date smoke reference for nbval.

The references in ``tests/reference/<paper>/`` are papermill executions in the smoke
profile; pytest re-executes them under nbval (``--nbval-lax``), comparing the cells tagged
``nbval-check-output``.  A notebook added under ``notebooks/`` is picked up here without
editing any list.
"""

import re

import nbformat
import pytest

from genxai import paths
from genxai import runner as run

NOTEBOOKS = run.discover()
IDS = [f"{nb.paper}/{nb.name}" for nb in NOTEBOOKS]
HOW_TO_FIX = "regenerate it: .venv/bin/genxai reproduce --paper {paper} --profile smoke --reference"


def _code(nb):
    return [
        c.source for c in nb.cells if c.cell_type == "code" and "injected-parameters" not in c.metadata.get("tags", [])
    ]


def test_there_are_notebooks():
    assert NOTEBOOKS, "no notebooks found under notebooks/<paper>/"


@pytest.mark.parametrize("nb", NOTEBOOKS, ids=IDS)
def test_notebook_follows_the_pattern(nb):
    book = nbformat.read(nb.path, as_version=4)
    assert book.metadata.get("kernelspec", {}).get("name") == "python3", "kernelspec must be python3"
    assert book.cells[0].cell_type == "markdown", "the first cell states the work, figures and substitutions"
    assert "ubstitution" in book.cells[0].source, "the first cell must list the substitutions"
    tagged = [c for c in book.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1, "exactly one cell tagged 'parameters'"
    for line in tagged[0].source.strip().splitlines():
        assert re.match(r"^\w+: [\w\[\], |]+ = .+  # \S", line), f"parameter without type or help: {line!r}"
    declared = run.inspect_parameters(nb)
    for name, type_name in run.REQUIRED_PARAMETERS.items():
        assert declared[name]["inferred_type_name"] == type_name
    assert all(not c.get("outputs") for c in book.cells if c.cell_type == "code"), (
        "commit notebooks without outputs (the executed copies live in results/)"
    )
    assert not any(re.search(r"""['"](\.\./|\./)?(data|results)/""", src) for src in _code(book)), (
        "paths come from genxai.paths, not relative strings"
    )


@pytest.mark.parametrize("nb", NOTEBOOKS, ids=IDS)
def test_smoke_reference_is_current(nb):
    ref = paths.reference_dir() / nb.paper / nb.path.name
    assert ref.exists(), f"no nbval reference for {nb.path.name}; " + HOW_TO_FIX.format(paper=nb.paper)
    source, reference = nbformat.read(nb.path, as_version=4), nbformat.read(ref, as_version=4)
    assert _code(reference) == _code(source), f"reference of {nb.path.name} is stale; " + HOW_TO_FIX.format(
        paper=nb.paper
    )
    assert reference.metadata["papermill"]["parameters"].get("profile") == "smoke"
    assert not reference.metadata["papermill"].get("exception"), "the reference run failed"

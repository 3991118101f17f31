"""environment.yml lists exactly what pyproject.toml asks for (without needing conda)."""

import re
import tomllib

from genxai import paths


def _names(reqs):
    return {re.split(r"[<>=!~\[ ;]", r, maxsplit=1)[0].lower() for r in reqs}


def _env_pip():
    lines = (paths.root() / "environment.yml").read_text().splitlines()
    start = next(i for i, l in enumerate(lines) if l.strip() == "- pip:")
    return [l.strip()[2:].strip() for l in lines[start + 1 :] if l.strip().startswith("- ")]


def test_environment_yml_matches_pyproject():
    project = tomllib.loads((paths.root() / "pyproject.toml").read_text())["project"]
    wanted = set(project["dependencies"])
    for extra in ("notebooks", "test"):
        wanted |= set(project["optional-dependencies"][extra])
    pip = _env_pip()
    assert "-e .[notebooks,test]" in pip
    listed = [p for p in pip if not p.startswith("-e")]
    assert _names(listed) == _names(wanted), "add/remove the difference in environment.yml"
    by_name = {_names([r]).pop(): r for r in wanted}
    for req in listed:  # same version constraints too
        assert req == by_name[_names([req]).pop()], f"{req} differs from pyproject's {by_name[_names([req]).pop()]}"
    assert "python=3.11" in (paths.root() / "environment.yml").read_text()

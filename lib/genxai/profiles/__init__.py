"""Profiles as data: the same notebook runs ``smoke``, ``cpu`` and ``paper`` settings.

Each paper has ``profiles/<paper>.json``::

    {"smoke": {"epochs": 1, ...}, "cpu": {...}, "paper": {...}}

Only numbers change between profiles, never code paths.  ``get(paper, profile)`` returns
a :class:`Profile` (attribute access, unknown keys raise with the list of valid ones).
"""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

PROFILES = ("smoke", "cpu", "paper")


class Profile(dict):
    """A dict with attribute access whose missing keys give a helpful error."""

    def __init__(self, paper: str, name: str, values: dict[str, Any]):
        super().__init__(values)
        self.paper = paper
        self.name = name

    def __getattr__(self, key: str) -> Any:
        try:
            return self[key]
        except KeyError:
            raise AttributeError(
                f"profile {self.paper}/{self.name} has no setting {key!r}; it has: {sorted(self)}"
            ) from None


def check_profile(profile: str) -> str:
    if profile not in PROFILES:
        raise ValueError(f"unknown profile {profile!r}: choose one of {', '.join(PROFILES)}")
    return profile


def get(paper: str, profile: str) -> Profile:
    check_profile(profile)
    try:
        text = resources.files(__name__).joinpath(f"{paper}.json").read_text()
    except FileNotFoundError:
        raise FileNotFoundError(f"no profile table for paper {paper!r}: add lib/genxai/profiles/{paper}.json") from None
    table = json.loads(text)
    missing = [p for p in PROFILES if p not in table]
    if missing:
        raise ValueError(f"profiles/{paper}.json lacks profiles {missing}")
    return Profile(paper, profile, table[profile])

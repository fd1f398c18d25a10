"""Where the shipped prompt and page templates, pictures and example shop live.

In a wheel they are inside the package (`genpage/prompts`, `genpage/templates`, `genpage/pictures`,
`genpage/examples`); in a source checkout or an editable install they are the top-level folders of the repository.
"""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent


def resource_dir(name: str) -> Path:
    """The folder of shipped files called `name` ("prompts", "templates", "pictures" or "examples")."""
    for candidate in (_PACKAGE / name, _PACKAGE.parent / name):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(f"genpage's {name}/ folder is missing from {_PACKAGE}: reinstall genpage")


def prompts_dir() -> Path:
    return resource_dir("prompts")


def templates_dir() -> Path:
    return resource_dir("templates")


def pictures_dir() -> Path:
    """The packaged product pictures (one SVG per product kind, drawn by examples/draw_pictures.py)."""
    return resource_dir("pictures")

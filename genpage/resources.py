"""Where the shipped prompt and page templates, pictures and example shop live, how many threads the process's
native code (BLAS, OpenMP) may use, and a map over threads for native work that releases the GIL.

In a wheel they are inside the package (`genpage/prompts`, `genpage/templates`, `genpage/pictures`,
`genpage/examples`); in a source checkout or an editable install they are the top-level folders of the repository.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

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


def cpu_threads() -> int:
    """The cores this process may use (affinity-aware), at least 1."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


def native_threads(threads: int, *, large: bool) -> int:
    """Threads for native code (tree prediction, a fit's ALS, trees and `map_threads` work): `threads` when set
    (> 0). On auto (0), one for small work such as a page (more threads only add their start-up cost), and for
    `large` work every thread the process may use: OMP_NUM_THREADS where it is set (campaign workers set their share
    of the cores), else its cores."""
    if threads > 0:
        return threads
    if not large:
        return 1
    share = os.environ.get("OMP_NUM_THREADS", "")
    return int(share) if share.isdigit() and int(share) > 0 else cpu_threads()


def thread_limit(limit: int) -> Any:
    """A context that limits native thread pools (BLAS, OpenMP) to `limit` threads. The libraries are looked up
    once, not on every call (a look-up reads every loaded library: 6 ms on the ranking benchmark, a third of a
    one-shopper page), and again only after new modules were imported, which may have loaded new libraries."""
    from threadpoolctl import ThreadpoolController

    global _CONTROLLER
    if _CONTROLLER is None or _CONTROLLER[0] != len(sys.modules):
        _CONTROLLER = (len(sys.modules), ThreadpoolController())
    return _CONTROLLER[1].limit(limits=limit)


_CONTROLLER: tuple[int, Any] | None = None

T = TypeVar("T")


def map_threads(function: Callable[[Any], T], items: Iterable[Any], threads: int) -> list[T]:
    """[function(item) for item in items], in their order, on `threads` threads: for native work that releases the
    GIL (scipy's sparse products, numpy's partitions), such as a fit's neighbour searches."""
    items = list(items)
    if threads <= 1 or len(items) <= 1:
        return [function(item) for item in items]
    with ThreadPoolExecutor(min(threads, len(items))) as pool:
        return list(pool.map(function, items))

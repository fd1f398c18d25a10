"""Deterministic text models for tests and dry runs: no weights, no randomness, instant.

`echo` answers a section-copy prompt with valid, plausible JSON built from the product names it finds in the
prompt (the lines `- Name (Category)` under `Products:`), so the whole pipeline runs without a real model.
`canned` answers with a queue of prepared texts, for tests that need a particular (for example broken) answer.
Both count their calls, so a test can prove that a cache hit reached no model.
"""

from __future__ import annotations

import json
import logging
import re
import time
from collections import deque
from collections.abc import Iterable
from typing import TYPE_CHECKING

from genpage.backends.base import GenerationRequest, GenerationResult, TextModel
from genpage.errors import BackendError
from genpage.text import STOPWORDS, TITLE_STOPWORDS, commonest_words, letter_runs

if TYPE_CHECKING:
    from genpage.config import Config

logger = logging.getLogger(__name__)

_NOT_A_THEME = STOPWORDS | TITLE_STOPWORDS | {"size", "color", "piece", "pieces", "kit"}
_PRODUCT_LINE = re.compile(r"^\s*-\s+(?P<name>[^()\n]+?)\s*(?:\((?P<category>[^)]*)\))?\s*$")
_KIND_TITLES = {
    "because you bought": "{theme} To Go With It",
    "because you viewed": "More {theme} Ideas",
    "buy again": "Your {theme} Favourites",
    "trending": "Trending {theme} Picks",
    "new": "New {theme} Arrivals",
    "campaign": "{theme} Spotlight",
}


def prompt_products(messages_text: str) -> list[str]:
    """Product names listed as `- Name (Category)` after the last `Products:` line of a prompt."""
    block = messages_text.rsplit("Products:", 1)
    if len(block) < 2:
        return []
    names: list[str] = []
    for line in block[1].splitlines()[1:]:
        match = _PRODUCT_LINE.match(line)
        if not match:
            if names:
                break
            continue
        names.append(match.group("name").strip())
    return names


def _theme(names: Iterable[str]) -> str:
    ranked = commonest_words([w for w in letter_runs(name) if w.lower() not in _NOT_A_THEME and len(w) > 2]
                             for name in names)  # fmt: skip
    if not ranked:
        return "Shop"
    return ranked[0][0].title()


def echo_copy(prompt: str) -> dict[str, str]:
    """The copy the echo model writes for a prompt: a title from the products' commonest word, a blurb naming
    at most two of them. Always within genpage's length limits."""
    last_user = prompt
    names = prompt_products(last_user)
    theme = _theme(names)
    lowered = last_user.rsplit("Products:", 1)[0].lower()
    pattern = "{theme} Picks For You"
    for marker, title in _KIND_TITLES.items():
        if marker in lowered.rsplit("section:", 1)[-1]:
            pattern = title
            break
    title = pattern.format(theme=theme)
    if names:
        blurb = f"Discover {theme.lower()} ideas, starting with the {names[0]}, chosen to go together."
    else:
        blurb = "Discover a few ideas chosen with care."
    if len(blurb.split()) > 25:
        blurb = f"Discover {theme.lower()} ideas, chosen to go together."
    return {"title": title, "blurb": blurb}


def _with_prefill(text: str, prefill: str) -> str:
    return text if text.startswith(prefill) else prefill + text


class EchoModel(TextModel):
    """Writes deterministic JSON copy from the prompt's product names."""

    backend_name = "echo"

    name = "echo"
    supports_json_schema = True
    supports_prefill = True
    supports_batching = True
    supports_sampling = False

    def __init__(self) -> None:
        self.calls = 0  # generate_batch calls
        self.requests_seen = 0

    @classmethod
    def from_config(cls, config: Config) -> EchoModel:
        return cls()

    def generate_batch(self, requests: list[GenerationRequest]) -> list[GenerationResult]:
        self.calls += 1
        self.requests_seen += len(requests)
        results = []
        for request in requests:
            start = time.perf_counter()
            users = [m.content for m in request.messages if m.role == "user"]
            text = json.dumps(echo_copy(users[-1] if users else ""))
            text = _with_prefill(text, request.prefill)
            pieces = text.split(" ")
            finish = "stop"
            if len(pieces) > request.options.max_new_tokens:  # one "token" per word, like a real limit
                text, finish = " ".join(pieces[: request.options.max_new_tokens]), "length"
            results.append(
                GenerationResult(
                    text=text,
                    finish_reason=finish,
                    tokens_generated=min(len(pieces), request.options.max_new_tokens),
                    prompt_tokens=sum(len(m.content.split()) for m in request.messages),
                    seconds=time.perf_counter() - start,
                )
            )
        return results


class CannedModel(TextModel):
    """Answers with prepared texts, first in first out; raises BackendError when it runs out."""

    backend_name = "canned"

    name = "canned"
    supports_prefill = True
    supports_batching = True
    supports_sampling = False

    def __init__(self, answers: Iterable[str] = ()) -> None:
        self.answers: deque[str] = deque(answers)
        self.calls = 0
        self.requests_seen = 0

    @classmethod
    def from_config(cls, config: Config) -> CannedModel:
        return cls()

    def generate_batch(self, requests: list[GenerationRequest]) -> list[GenerationResult]:
        self.calls += 1
        self.requests_seen += len(requests)
        if len(self.answers) < len(requests):
            raise BackendError(
                f"the canned model has {len(self.answers)} answers left for {len(requests)} requests: "
                "give it more answers"
            )
        results = []
        for request in requests:
            text = _with_prefill(self.answers.popleft(), request.prefill)
            results.append(GenerationResult(text=text, tokens_generated=len(text.split())))
        return results

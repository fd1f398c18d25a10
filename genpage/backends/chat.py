"""Chat prompts for the in-process backends (local, llamacpp): the chat template applied, a prompt split into a
shareable prefix and the rest, requests batched by options, and words to avoid turned into banned token sequences.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from genpage.backends.base import GenerationOptions, GenerationRequest, GenerationResult
from genpage.text import title_case

DEFAULT_BATCH_SIZE = 16
MIN_PREFIX_TOKENS = 32


class ChatPrompts:
    """Chat-template prompts split into a shareable prefix and the rest, batched by options, for the in-process
    backends that cache prefixes' keys and values (local, llamacpp). They provide `tokenizer`, `batch_size`,
    `prefix_cache_size`, `_is_cached(prefix)` and `_generate(rows, prefills, options, bans, schemas)`."""

    tokenizer: Any
    batch_size: int
    prefix_cache_size: int

    def _is_cached(self, prefix: tuple[int, ...]) -> bool:
        raise NotImplementedError

    def _generate(
        self,
        rows: list[tuple[list[int], list[int]]],
        prefills: list[str],
        options: GenerationOptions,
        bans: list[dict[tuple[int, ...], list[int]]],
        schemas: list[dict[str, Any] | None],
    ) -> list[GenerationResult]:
        raise NotImplementedError

    def generate_batch(self, requests: list[GenerationRequest]) -> list[GenerationResult]:
        results: list[GenerationResult | None] = [None] * len(requests)
        groups: dict[str, list[int]] = defaultdict(list)
        for index, request in enumerate(requests):
            groups[request.options.model_dump_json(exclude={"avoid"})].append(index)  # per row: see _bans
        for indices in groups.values():
            split = {i: self.split_prompt(requests[i]) for i in indices}
            # similar prefixes and lengths share a batch: less padding
            ordered = sorted(indices, key=lambda i: (len(split[i][0]), len(split[i][1])))
            for start in range(0, len(ordered), self.batch_size):
                chunk = ordered[start : start + self.batch_size]
                rows = [split[i] for i in chunk]
                prefills = [requests[i].prefill for i in chunk]
                bans = [self._bans(requests[i].options.avoid) for i in chunk]
                schemas = [requests[i].json_schema for i in chunk]
                answers = self._generate(rows, prefills, requests[chunk[0]].options, bans, schemas)
                for i, result in zip(chunk, answers, strict=True):
                    results[i] = result
        return [r for r in results if r is not None]

    def render_prompt(self, request: GenerationRequest) -> str:
        """The chat template applied to the request; a trailing assistant message is continued verbatim."""
        messages = [m.model_dump() for m in request.messages]
        prefill = request.prefill
        if prefill:
            messages = messages[:-1]
        text = self.tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
        return str(text) + prefill

    def split_prompt(self, request: GenerationRequest) -> tuple[list[int], list[int]]:
        """Token ids of the request's shareable prefix and of the rest. The prefix ends before a user message: the
        latest one whose prefix is already cached (in memory or on disk: a retry shares its first try's start),
        else the last one (everything before it: the system message and the in-context examples)."""
        ids = list(self.tokenizer(self.render_prompt(request), add_special_tokens=False)["input_ids"])
        if not self.prefix_cache_size:
            return [], ids
        messages = [m.model_dump() for m in request.messages]
        if request.prefill:
            messages = messages[:-1]
        starts = [n for n, m in enumerate(messages) if m["role"] == "user" and n > 0]
        fallback: list[int] = []
        for n in reversed(starts):
            text = self.tokenizer.apply_chat_template(messages[:n], tokenize=False, add_generation_prompt=False)
            prefix = list(self.tokenizer(str(text), add_special_tokens=False)["input_ids"])
            if len(prefix) < MIN_PREFIX_TOKENS or len(prefix) >= len(ids) or ids[: len(prefix)] != prefix:
                continue  # the template does not render a prefix of messages as a prefix of the whole
            if self._is_cached(tuple(prefix)):
                return prefix, ids[len(prefix) :]
            fallback = fallback or prefix
        return fallback, ids[len(fallback) :]

    def _bans(self, avoid: list[str]) -> dict[tuple[int, ...], list[int]]:
        """The token sequences that spell the words of `avoid` (lower, capitalised or title case, singular and plural,
        after a space or at the start of a JSON string), as {the tokens before the last: [last tokens]}. Inside
        a word ("carpet" for "pet") nothing is banned."""
        table: dict[tuple[int, ...], list[int]] = defaultdict(list)
        known: dict[str, list[tuple[int, ...]]] = self.__dict__.setdefault("_spellings", {})  # per tokenizer
        for word in avoid:
            if word not in known:
                known[word] = [tuple(self.tokenizer.encode(v, add_special_tokens=False)) for v in spellings(word)]
            for ids in known[word]:
                if ids:
                    table[ids[:-1]].append(ids[-1])
        return dict(table)


def spellings(word: str) -> set[str]:
    """The ways a word to avoid may be written into an answer: lower, capitalised, title case and title case as
    headings write it ("Make a Difference", `genpage.text.title_case`), singular and plural, after a space
    or at the start of a JSON string."""
    low = word.lower()
    forms = {word, low, low + "s", low[:-1] + "ies" if low.endswith("y") else low + "es"}
    cases = {v for f in forms for v in (f, f.capitalize(), f.title(), title_case(f))}
    return {start + v for v in cases for start in (" ", '"', ' "')}


def banned_next(table: dict[tuple[int, ...], list[int]], depth: int, recent: list[int]) -> list[int]:
    """The tokens a row may not write next: those that would end one of its banned sequences (`LocalModel._bans`),
    given its latest `depth` tokens."""
    tail = tuple(recent[-depth:]) if depth else ()
    banned: list[int] = []
    for n in range(depth + 1):
        banned += table.get(tail[len(tail) - n :] if n else (), [])
    return banned

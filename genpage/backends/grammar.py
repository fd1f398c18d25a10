"""JSON-schema constrained decoding for the in-process backends (local, llamacpp), with llguidance.

A request's `json_schema` is compiled once per schema into an llguidance grammar; each row of a batch gets its own
matcher, which says before every step which tokens may come next (a bitmask over the vocabulary) and is told each
token chosen. Tokens the schema does not allow get a score of -inf, so the answer is JSON that validates against
the schema, its strings within their `minLength`/`maxLength`, as long as it ends within `max_new_tokens` (an
answer cut off by the token limit is still cut off: its `finish_reason` says "length").

The JSON is written compactly, with the separators the copy prompts show (`{"title": "...", "blurb": "..."}`): no
free whitespace, so a small model cannot fill its token budget with newlines. A request that also continues an
assistant message (a prefill) has the prefill consumed by the grammar first; a prefill the schema does not allow is
an error.

Why llguidance (rather than xgrammar, outlines-core or llama.cpp's GBNF): one engine for both backends, acting on
the logits they already hold (torch in local, numpy in llamacpp); `maxLength` is a lexer bound, not the 200 nested
optional rules GBNF expands it to; a ~3 MB wheel with no dependencies (xgrammar pulls triton); masks in tens of
microseconds per row on CPU (`bench/grammar.py` measures the cost).
"""

from __future__ import annotations

import json
import logging
from typing import TYPE_CHECKING, Any

import numpy as np

from genpage.errors import BackendError

if TYPE_CHECKING:
    from llguidance._lib import JsonCompileOptions

logger = logging.getLogger(__name__)

# compact JSON, with the separators the prompts show; no whitespace the model may add at will
JSON_STYLE: JsonCompileOptions = {"whitespace_flexible": False, "key_separator": ": ", "item_separator": ", "}


class SchemaGrammars:
    """The schemas' grammars for one tokenizer: `start(schema, prefill)` gives a row its `RowGrammar`.

    `vocab_size` is the width of the model's logits (it may exceed the tokenizer's vocabulary); `eos_token_id` the
    token that ends an answer (the only one allowed once the JSON is complete)."""

    def __init__(self, tokenizer: Any, vocab_size: int, eos_token_id: int) -> None:
        self.hf_tokenizer = tokenizer
        self.vocab_size = vocab_size
        self.eos_token_id = eos_token_id
        self._tokenizer: Any = None  # llguidance's view of the vocabulary, built on first use (~1 s)
        self._grammars: dict[str, str] = {}

    @property
    def tokenizer(self) -> Any:
        if self._tokenizer is None:
            import llguidance.hf

            self._tokenizer = llguidance.hf.from_tokenizer(self.hf_tokenizer, n_vocab=self.vocab_size,
                                                           eos_token=self.eos_token_id)  # fmt: skip
        return self._tokenizer

    def grammar(self, schema: dict[str, Any]) -> str:
        """The llguidance grammar of a JSON schema (cached by the schema's JSON). Raises BackendError for a schema
        llguidance cannot compile."""
        key = json.dumps(schema, sort_keys=True)
        if key not in self._grammars:
            from llguidance import LLMatcher

            try:
                grammar = LLMatcher.grammar_from_json_schema(schema, defaults=JSON_STYLE)
            except (ValueError, TypeError) as exc:
                raise BackendError(f"the request's JSON schema cannot be decoded under a grammar: {exc}") from exc
            message = LLMatcher.validate_grammar(grammar, self.tokenizer)
            if message:
                raise BackendError(f"the request's JSON schema cannot be decoded under a grammar: {message}")
            self._grammars[key] = grammar
        return self._grammars[key]

    def start(self, schema: dict[str, Any], prefill: str = "") -> RowGrammar:
        """A fresh matcher for one row, past the row's prefill."""
        row = RowGrammar(self, self.grammar(schema))
        if prefill:
            ids = self.hf_tokenizer.encode(prefill, add_special_tokens=False)
            if not row.matcher.consume_tokens(ids):
                raise BackendError(f"the prefill {prefill!r} does not start an answer the JSON schema allows")
        return row


class RowGrammar:
    """One row's place in its grammar: the tokens it may write next (`allowed`), and each token it wrote
    (`advance`)."""

    def __init__(self, grammars: SchemaGrammars, grammar: str) -> None:
        from llguidance import LLMatcher

        self.grammars = grammars
        self.matcher = LLMatcher(grammars.tokenizer, grammar)
        if self.matcher.is_error():
            raise BackendError(f"the JSON schema's grammar failed to start: {self.matcher.get_error()}")
        self._bits = np.full((grammars.vocab_size + 31) // 32, -1, dtype=np.int32)

    @property
    def complete(self) -> bool:
        """The JSON is finished: only the end of the answer may follow."""
        return bool(self.matcher.is_stopped())

    def allowed(self) -> np.ndarray:
        """A boolean mask over the vocabulary: the tokens the schema allows next."""
        self.matcher.unsafe_compute_mask_ptr(self._bits.ctypes.data, self._bits.nbytes)
        bits = np.unpackbits(self._bits.view(np.uint8), count=self.grammars.vocab_size, bitorder="little")
        return bits.view(bool)

    def advance(self, token: int) -> None:
        if not self.matcher.consume_token(token):
            raise BackendError(f"token {token} broke the JSON grammar: {self.matcher.get_error()}")


def constrain(scores: np.ndarray, allowed: np.ndarray) -> None:
    """Set the scores of the tokens not allowed to -inf, in place (numpy scores of one row). When the words to
    avoid already took every allowed token, the allowed tokens get back an equal score: the schema comes first."""
    width = min(len(scores), len(allowed))
    if not np.isfinite(scores[:width][allowed[:width]]).any():
        logger.warning("the words to avoid left no token the JSON schema allows; ignoring them for this step")
        scores[:width][allowed[:width]] = 0.0
    scores[:width][~allowed[:width]] = -np.inf
    scores[width:] = -np.inf

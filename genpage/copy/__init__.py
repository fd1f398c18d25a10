"""Stage 5, copy: each section's title and blurb, written by a text backend from prompts built purely from the plan
(`prompts.py`), checked by the guardrails (`guardrails.py`), mended, retried or replaced by fallback copy, and cached
(`generate.py`); a person approves, edits or rejects each cached copy before it goes live (`review.py`)."""

from __future__ import annotations

from genpage.copy.generate import CopyStats, fallback_copy, generate_copy, parse_copy
from genpage.copy.guardrails import check_copy
from genpage.copy.prompts import build_prompt

__all__ = ["CopyStats", "build_prompt", "check_copy", "fallback_copy", "generate_copy", "parse_copy"]

"""The cost of decoding section copy under its JSON schema's grammar, against today's prefill-and-repair path.

The same sections' prompts (the example shop's categories, user-level prompts from `genpage.copy.prompts`) go to a
backend twice per round, in one batched call each, as a campaign run sends them:

- `prefill`: the request the copy stage sends a backend without `supports_json_schema`: the answer is started with
  `{"title": "` and cut at the first `}`; `parse_copy` closes and repairs what comes back;
- `grammar`: the request with `json_schema` (the copy stage's COPY_SCHEMA, with its length limits), decoded under
  the llguidance grammar (`genpage.backends.grammar`).

Rounds alternate the two (the machine is shared: the fastest round is reported). For each: seconds, tokens,
tokens/s, seconds per section, the share of answers that are strict JSON, that validate against the schema (keys,
types, lengths), that `parse_copy` accepts (with its repairs), that were cut by the token limit, and the time the
grammar's masks took per token.

    python bench/grammar.py                                          # local and llamacpp (if installed), smollm2
    python bench/grammar.py --backends local --model qwen2.5-1.5b-instruct --sections 8
    python bench/grammar.py --max-new-tokens 48,96 --json grammar.json
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import pandas as pd  # noqa: E402

from genpage.backends import GenerationRequest, Message, TextModel, get_backend  # noqa: E402
from genpage.backends import grammar as grammar_module  # noqa: E402
from genpage.config import Config  # noqa: E402
from genpage.copy.generate import COPY_SCHEMA, DEFAULT_OPTIONS, PREFILL, parse_copy  # noqa: E402
from genpage.copy.prompts import build_prompt  # noqa: E402
from genpage.schemas import PageItem, Product, Reason, Section  # noqa: E402

SHOP = REPO / "examples" / "shop" / "products.csv"


def shop_sections(count: int, size: int = 5) -> list[Section]:
    """`count` sections of the example shop: each category's newest products, then its next ones."""
    frame = pd.read_csv(SHOP).sort_values("created_at", ascending=False)
    groups = [group for _, group in frame.groupby("category", sort=True)]
    sections: list[Section] = []
    for offset in range(0, 4 * size, size):
        for group in groups:
            rows = list(group.iloc[offset : offset + size].itertuples())
            if len(rows) >= 3 and len(sections) < count:
                items = [PageItem(product=Product(id=str(r.id), title=str(r.title), category=str(r.category),
                                                  price=float(r.price)),
                                  score=1.0 - n / 10, reason=Reason(kind="trending"))
                         for n, r in enumerate(rows)]  # fmt: skip
                sections.append(Section(id=f"shop-{len(sections):02d}", kind="trending", intent="trending",
                                        items=items))  # fmt: skip
    return sections


def requests_for(sections: list[Section], mode: str, max_new_tokens: int) -> list[GenerationRequest]:
    options = DEFAULT_OPTIONS.model_copy(update={"max_new_tokens": max_new_tokens})
    out = []
    for section in sections:
        messages = build_prompt(section, interests=[], campaign=None, locale="en-GB", shop="the example shop")
        if mode == "grammar":
            out.append(GenerationRequest(messages=messages, options=options, json_schema=COPY_SCHEMA))
        else:
            out.append(GenerationRequest(messages=[*messages, Message(role="assistant", content=PREFILL)],
                                         options=options.model_copy(update={"stop": ["}"]})))  # fmt: skip
    return out


def schema_valid(data: Any) -> bool:
    """The answer validates against COPY_SCHEMA: exactly its keys, strings within their lengths."""
    properties = COPY_SCHEMA["properties"]
    if not isinstance(data, dict) or set(data) != set(properties):
        return False
    return all(isinstance(data[key], str) and rule.get("minLength", 0) <= len(data[key]) <= rule["maxLength"]
               for key, rule in properties.items())  # fmt: skip


def strict_json(text: str, mode: str, finish: str) -> Any:
    """The answer as JSON without repairs (the prefill path's stop string `}` put back), else None."""
    body = text + "}" if mode == "prefill" and finish == "stop" and not text.rstrip().endswith("}") else text
    try:
        return json.loads(body)
    except ValueError:
        return None


class MaskClock:
    """Time spent in the grammar's per-token work (masks and advancing), by wrapping RowGrammar's two methods."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self.calls = 0
        row = grammar_module.RowGrammar
        self.originals = (row.allowed, row.advance)
        clock = self

        def timed(method: Any) -> Any:
            def wrapper(self: Any, *args: Any) -> Any:
                start = time.perf_counter()
                try:
                    return method(self, *args)
                finally:
                    clock.seconds += time.perf_counter() - start
                    clock.calls += method is clock.originals[0]

            return wrapper

        row.allowed, row.advance = timed(row.allowed), timed(row.advance)  # type: ignore[method-assign]


def one_pass(backend: TextModel, sections: list[Section], mode: str, max_new_tokens: int, clock: MaskClock) -> dict:
    requests = requests_for(sections, mode, max_new_tokens)
    mask_before = clock.seconds
    start = time.perf_counter()
    results = backend.generate_batch(requests)
    seconds = time.perf_counter() - start
    tokens = sum(r.tokens_generated for r in results)
    parsed = [strict_json(r.text, mode, r.finish_reason) for r in results]
    return {
        "seconds": seconds,
        "tokens": tokens,
        "tokens_per_s": tokens / seconds,
        "s_per_section": seconds / len(results),
        "strict_json": sum(p is not None for p in parsed) / len(results),
        "schema_valid": sum(schema_valid(p) for p in parsed) / len(results),
        "parse_copy_ok": sum(parse_copy(r.text) is not None for r in results) / len(results),
        "cut_by_limit": sum(r.finish_reason == "length" for r in results) / len(results),
        "mask_ms_per_token": 1000 * (clock.seconds - mask_before) / max(1, tokens),
        "texts": [r.text for r in results],
    }


def best_round(rounds: list[dict]) -> dict:
    """The fastest round (its own numbers, so they agree with each other): on a shared machine the others are the
    same work slowed by other processes. Every round's seconds are kept beside it."""
    return {**min(rounds, key=lambda r: r["seconds"]), "rounds_seconds": [round(r["seconds"], 2) for r in rounds]}


def run(args: argparse.Namespace) -> list[dict]:
    home = Path(os.environ.get("GENPAGE_HOME", Path.home() / ".cache" / "genpage"))
    sections = shop_sections(args.sections)
    limits = [int(n) for n in args.max_new_tokens.split(",")]
    clock = MaskClock()
    rows = []
    for name in args.backends.split(","):
        if name == "llamacpp" and importlib.util.find_spec("llama_cpp") is None:
            print("llamacpp: llama-cpp-python is not installed, skipped", file=sys.stderr)
            continue
        start = time.perf_counter()
        backend = get_backend(Config(home=home, backend=name, generator=args.model, device="cpu"))
        if args.batch_size and hasattr(backend, "batch_size"):
            backend.batch_size = args.batch_size
        load_s = time.perf_counter() - start
        # warm up both paths (the prefix caches, llguidance's view of the vocabulary) before timing
        for mode in ("prefill", "grammar"):
            backend.generate_batch(requests_for(sections[:2], mode, 8))
        for limit in limits:
            rounds: dict[str, list[dict]] = {"prefill": [], "grammar": []}
            for n in range(args.repeat):
                for mode in ("prefill", "grammar") if n % 2 == 0 else ("grammar", "prefill"):
                    rounds[mode].append(one_pass(backend, sections, mode, limit, clock))
                    done = rounds[mode][-1]
                    print(f"{name} {mode} {limit}: {done['seconds']:.1f}s, {done['tokens']} tokens", file=sys.stderr)
            for mode, passes in rounds.items():
                rows.append({"backend": name, "model": backend.name, "precision": backend.precision,
                             "mode": mode, "max_new_tokens": limit, "sections": len(sections),
                             "load_s": load_s, **best_round(passes)})  # fmt: skip
        backend.close()
    return rows


def print_table(rows: list[dict]) -> None:
    header = (f"{'backend':9} {'model':24} {'mode':8} {'max':>4} {'s':>7} {'tok':>5} {'tok/s':>6} {'s/sect':>6} "
              f"{'json':>5} {'schema':>6} {'parsed':>6} {'cut':>5} {'mask ms/tok':>11}")  # fmt: skip
    print(header)
    print("-" * len(header))
    for r in rows:
        print(f"{r['backend']:9} {r['model'][:24]:24} {r['mode']:8} {r['max_new_tokens']:>4} {r['seconds']:>7.1f} "
              f"{r['tokens']:>5} {r['tokens_per_s']:>6.1f} {r['s_per_section']:>6.2f} {r['strict_json']:>5.0%} "
              f"{r['schema_valid']:>6.0%} {r['parse_copy_ok']:>6.0%} {r['cut_by_limit']:>5.0%} "
              f"{r['mask_ms_per_token']:>11.3f}")  # fmt: skip
    for base in (r for r in rows if r["mode"] == "prefill"):
        other = next((r for r in rows if r["mode"] == "grammar" and r["backend"] == base["backend"]
                      and r["max_new_tokens"] == base["max_new_tokens"]), None)  # fmt: skip
        if other:
            print(f"{base['backend']} at {base['max_new_tokens']} tokens: grammar tokens/s = "
                  f"{other['tokens_per_s'] / base['tokens_per_s']:.2f} x prefill's, seconds per section "
                  f"{other['s_per_section'] / base['s_per_section']:.2f} x")  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backends", default="local,llamacpp", help="comma-separated (default local,llamacpp)")
    parser.add_argument("--model", default="smollm2-135m-instruct", help="registry name (default smollm2-135m)")
    parser.add_argument("--sections", type=int, default=12, help="example-shop sections (default 12)")
    parser.add_argument("--max-new-tokens", default=str(DEFAULT_OPTIONS.max_new_tokens),
                        help="comma-separated token limits (default: the copy stage's)")  # fmt: skip
    parser.add_argument("--repeat", type=int, default=3, help="rounds per mode; the fastest is reported")
    parser.add_argument("--batch-size", type=int, default=0, help="backend batch size (default: its own)")
    parser.add_argument("--show", type=int, default=0, help="print this many answers of each pass")
    parser.add_argument("--json", type=Path, help="write the rows here")
    args = parser.parse_args(argv)
    rows = run(args)
    print_table(rows)
    for r in rows:
        for text in r["texts"][: args.show]:
            print(f"{r['backend']} {r['mode']} {r['max_new_tokens']}: {text}")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

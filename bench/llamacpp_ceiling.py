"""How fast llama.cpp can go on this machine: prompt evaluation and decoding steps at several batch sizes.

Issue 4 asks for 3x llama.cpp's batch-1 tokens/s (bench/copy.py times that figure on the same prompts, prompt
evaluation included). This bench measures the two rates any batched engine built on the same kernels is bound by,
with the genpage `llamacpp` backend's own calls (`LlamaCppModel._decode`):

- prompt evaluation: one sequence's 512 tokens in one call (tokens/s);
- decoding: B sequences with a 64-token prompt each, then 16 steps of one token per sequence (tokens/s), for each B.

and what they imply for copy: with S prompt tokens of its own per section (after the shared, cached start) and A
answer tokens, a section costs S / prompt_rate + A / decode_rate(B), so the best ratio to batch 1 is
(S / p + A / d1) / (S / p + A / dB), and no batch can beat (S / p + A / d1) / (S / p + A / p): decoding a row
costs at least what evaluating one prompt token does.

    python bench/llamacpp_ceiling.py --json out.json                # the default generator, S and A of bench/copy.py
    python bench/llamacpp_ceiling.py --own-prompt 120 --answer 30   # longer prompts (copy_level = "user")
"""

from __future__ import annotations

import sys

if sys.path and sys.path[0].rstrip("/").endswith("bench"):
    sys.path.pop(0)  # bench/copy.py would shadow the standard library's `copy` module

import argparse  # noqa: E402
import json  # noqa: E402
import logging  # noqa: E402
import os  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from genpage.config import Config  # noqa: E402


def run(args: argparse.Namespace) -> dict[str, object]:
    from genpage.backends.llamacpp import LlamaCppModel

    home = Path(os.environ.get("GENPAGE_HOME", Path.home() / ".cache" / "genpage"))
    model = LlamaCppModel(args.model, home=home, batch_size=max(args.batches), prefix_cache_size=0)
    vocab = model.tokenizer.vocab_size
    tokens = [(7 * n + 11) % (vocab - 1000) + 500 for n in range(512)]  # ordinary tokens, no special ones

    model.clear_rows()
    start = time.perf_counter()
    model._decode([(0, pos, token, pos == len(tokens) - 1) for pos, token in enumerate(tokens)])
    prompt_rate = len(tokens) / (time.perf_counter() - start)
    decode: dict[int, float] = {}
    for batch in args.batches:
        model.clear_rows()
        model._decode([(seq, pos, tokens[(seq * 64 + pos) % 512], pos == 63) for seq in range(batch)
                       for pos in range(64)])  # fmt: skip
        start = time.perf_counter()
        for step in range(args.steps):
            model._decode([(seq, 64 + step, tokens[(seq + step) % 512], True) for seq in range(batch)])
        decode[batch] = batch * args.steps / (time.perf_counter() - start)
    model.close()
    s, a, p = args.own_prompt, args.answer, prompt_rate
    ratio = {b: (s / p + a / decode[1]) / (s / p + a / rate) for b, rate in decode.items()} if 1 in decode else {}
    # no batch decodes faster than a prompt is evaluated (both run every row through every weight once per token)
    bound = (s / p + a / decode[1]) / (s / p + a / p) if 1 in decode else None
    return {"model": args.model, "prompt_tokens_per_s": prompt_rate, "decode_tokens_per_s": decode,
            "own_prompt_tokens": s, "answer_tokens": a, "best_ratio_to_batch_1": ratio,
            "ratio_bound_decoding_at_prompt_rate": bound}  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default=Config.model_fields["generator"].default)
    parser.add_argument("--batches", type=int, nargs="+", default=[1, 4, 8, 16, 32])
    parser.add_argument("--steps", type=int, default=16)
    parser.add_argument("--own-prompt", type=int, default=36,
                        help="a section's prompt tokens after the shared start (bench/copy.py: ~36)")
    parser.add_argument("--answer", type=int, default=23, help="answer tokens per section (bench/copy.py: ~23)")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    logging.basicConfig(level=logging.WARNING)
    report = run(args)
    print(f"{'model':<40} {report['model']}")
    print(f"{'prompt evaluation tokens/s (512 in one)':<40} {report['prompt_tokens_per_s']:.1f}")
    for batch, rate in report["decode_tokens_per_s"].items():  # type: ignore[attr-defined]
        best = report["best_ratio_to_batch_1"].get(batch)  # type: ignore[attr-defined]
        print(f"{f'decode tokens/s at batch {batch}':<40} {rate:.1f}" + (f"   copy at best {best:.2f}x batch 1"
                                                                         if best else ""))  # fmt: skip
    if report["ratio_bound_decoding_at_prompt_rate"]:
        print(f"{'copy at best, decoding at the prompt rate':<40} "
              f"{report['ratio_bound_decoding_at_prompt_rate']:.2f}x batch 1")  # fmt: skip
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

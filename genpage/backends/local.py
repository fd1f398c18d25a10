"""The local backend: a causal language model run in-process with transformers.

The device is chosen once, at load (`genpage.embed.weights.pick_device`). On CUDA the model runs in bf16 (fp16 where
bf16 is missing) placed by accelerate's `device_map`. On CPU, "auto" means the registry's `cpu_precision` for the
model (fp32 for a folder or hub id): int8 for the Qwen models, i.e. every linear layer's weights quantized per
output channel (dynamic int8), the output head included. Measured (issue 4's notes): the layers in int8 gave
2.0-2.6x the tokens/s of fp32 with copy that read the same, where the per-tensor scheme of ../shared/COPY-NOTES.md
had broken the text; quantizing the 151k-word output head as well (0.9 GB read per token in fp32) took a fresh
5-section page from 9.6 s to 4.1 s with copy that read as well (17 of 30 publishable either way). "fp32" stays
available; measure the text whenever you change precision.
Requests are batched with left padding, greedy unless a temperature is given, under `torch.inference_mode`.
A request's `json_schema` is enforced while decoding (`genpage.backends.grammar`, llguidance): a logits processor
gives every token the schema does not allow next a score of -inf, after the repetition penalty and the words to
avoid and before temperature and top-p.

A generator named `"<base>+<adapter>"` (`"qwen2.5-1.5b-instruct+house-style"`, or `"<base>+/path/to/adapter"`)
is the base with a LoRA adapter trained by `genpage train-writer`, merged into its weights at load (then quantized
like the base); the copy stage gives such a tuned writer its short prompt (`genpage.copy.prompts.writer_messages`).

Prefix caching: everything before a request's last user message (the system message and the in-context examples)
is the same for many requests (for every segment-level section prompt). Its key/value cache is computed once and
kept (LRU, `prefix_cache_size` entries) and, with a `home`, saved under `<home>/cache/prefix-kv/` for the next
process (keyed by model, precision, torch and transformers versions and the prefix's tokens); a batch then only
runs its rows' own last messages through the model. Rows are laid out as `[pad][prefix][pad][suffix]` with the
padding masked, so rows with different prefixes still share one batch.
"""

from __future__ import annotations

import hashlib
import inspect
import logging
import os
import time
from collections import OrderedDict
from pathlib import Path
from typing import TYPE_CHECKING, Any

from genpage.backends.base import GenerationOptions, GenerationResult, TextModel
from genpage.backends.chat import DEFAULT_BATCH_SIZE, ChatPrompts, banned_next
from genpage.backends.grammar import RowGrammar, SchemaGrammars
from genpage.backends.lora_gguf import adapter_digest
from genpage.errors import BackendError, ConfigError
from genpage.resources import cpu_threads

if TYPE_CHECKING:
    from genpage.config import Config

logger = logging.getLogger(__name__)

DEFAULT_PREFIX_CACHE = 48


def _quantize_int8_per_channel(model: Any) -> Any:
    """Dynamic int8 quantization of every nn.Linear, the output head included, with per-channel weight scales."""
    import torch
    from torch.ao.quantization import per_channel_dynamic_qconfig, quantize_dynamic

    spec = {name: per_channel_dynamic_qconfig for name, module in model.named_modules()
            if isinstance(module, torch.nn.Linear)}  # fmt: skip
    return quantize_dynamic(model, qconfig_spec=spec, dtype=torch.qint8, inplace=True)


def _merge_adapter(model: Any, folder: Path) -> tuple[Any, str]:
    """The model with a LoRA adapter (`genpage train-writer`) merged into its weights, so it runs as fast as the
    base; and the sha256 of the adapter's weights."""
    from peft import PeftModel

    digest = adapter_digest(folder)
    merged = PeftModel.from_pretrained(model, str(folder)).merge_and_unload()
    logger.info("merged the adapter %s (sha256 %s)", folder, digest[:16])
    return merged, digest


class LocalModel(ChatPrompts, TextModel):
    """A transformers causal LM: `LocalModel(path_or_name, device="auto", precision="auto")`."""

    backend_name = "local"

    supports_json_schema = True
    supports_prefill = True
    supports_batching = True

    def __init__(
        self,
        model: str,
        *,
        device: str = "auto",
        precision: str = "auto",
        home: Any = None,
        batch_size: int = DEFAULT_BATCH_SIZE,
        threads: int | None = None,
        prefix_cache_size: int = DEFAULT_PREFIX_CACHE,
    ) -> None:
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        from genpage.embed.weights import find_adapter, lookup, pick_device, resolve, split_adapter

        base, adapter = split_adapter(model)
        spec = lookup(base)
        self.name = spec.name if spec else base
        adapter_path = find_adapter(self.name, adapter, home=home) if adapter else None
        if adapter:
            self.name = f"{self.name}+{adapter}"
        self.batch_size = batch_size
        path = resolve(base, kind="generator", home=home)
        self.device = pick_device(device)
        if self.device == "cpu":
            torch.set_num_threads(threads or cpu_threads())
        if precision == "auto" and self.device == "cpu":
            precision = spec.cpu_precision if spec else "fp32"
        self.precision, dtype = self._choose_precision(precision, torch)
        self.batch_invariant = self.precision != "int8"  # int8 activations are quantized over the whole batch
        start = time.perf_counter()
        self.tokenizer = AutoTokenizer.from_pretrained(path)
        self.tokenizer.padding_side = "left"
        if self.tokenizer.pad_token is None:
            self.tokenizer.pad_token = self.tokenizer.eos_token
        load_kwargs: dict[str, Any] = {"dtype": dtype}
        if self.device == "cuda":
            load_kwargs["device_map"] = "cuda"
        self.model = AutoModelForCausalLM.from_pretrained(path, **load_kwargs)
        self.identity = self.name  # the copy cache's name for the model: a tuned writer's adds its adapter's hash
        if adapter_path is not None:
            self.model, digest = _merge_adapter(self.model, adapter_path)
            self.identity = f"{self.name}@{digest[:16]}"
        self.model.eval()
        if self.precision == "int8":
            self.model = _quantize_int8_per_channel(self.model)
        self._torch = torch
        self.prefix_cache_size = prefix_cache_size
        self.prefix_dir = Path(home) / "cache" / "prefix-kv" if home is not None else None
        import transformers

        # what a saved prefix cache depends on besides its tokens (see _prefix_file)
        self._model_identity = (self.identity, path, self.precision, self.device, torch.__version__,
                                transformers.__version__)  # fmt: skip
        self._prefixes: OrderedDict[tuple[int, ...], list[tuple[Any, Any]]] = OrderedDict()
        forward = inspect.signature(self.model.forward).parameters
        self._cache_kwarg = "cache" if "cache" in forward else "past_key_values"  # renamed in transformers 5.x
        # a prefix's forward pass needs its key/value cache, not logits for every position (151k x 700 of them)
        self._prefix_kwargs = {"logits_to_keep": 1} if "logits_to_keep" in forward else {}
        self.grammars = SchemaGrammars(self.tokenizer, self.model.config.vocab_size, self.tokenizer.eos_token_id)
        logger.info(
            "loaded %s on %s (%s) in %.1fs", self.name, self.device, self.precision, time.perf_counter() - start
        )

    @classmethod
    def from_config(cls, config: Config) -> LocalModel:
        return cls(config.generator, device=config.device, precision=config.precision, home=config.home)

    def _prefix_file(self, prefix: tuple[int, ...]) -> Path | None:
        if self.prefix_dir is None:
            return None
        key = repr((*self._model_identity, prefix))
        return self.prefix_dir / f"{hashlib.sha256(key.encode()).hexdigest()[:32]}.pt"

    def _choose_precision(self, precision: str, torch: Any) -> tuple[str, Any]:
        if self.device == "cuda":
            if precision in ("auto", "bf16"):
                if torch.cuda.is_bf16_supported():
                    return "bf16", torch.bfloat16
                return "fp16", torch.float16
            if precision == "int8":
                raise ConfigError("precision 'int8' is CPU-only; use bf16 or fp16 on CUDA (setting `precision`)")
            return precision, {"fp32": torch.float32, "fp16": torch.float16}[precision]
        if precision in ("auto", "fp32", "int8"):
            return ("fp32" if precision == "auto" else precision), torch.float32
        if precision == "bf16":
            return "bf16", torch.bfloat16
        raise ConfigError("precision 'fp16' is too slow on CPU: use fp32, bf16 or int8 (setting `precision`)")

    def _is_cached(self, prefix: tuple[int, ...]) -> bool:
        if prefix in self._prefixes:
            return True
        file = self._prefix_file(prefix)
        return file is not None and file.is_file()

    def _prefix_kv(self, prefix: tuple[int, ...]) -> list[tuple[Any, Any]]:
        """Per layer (keys, values) of a prefix: from the LRU, else from `<home>/cache/prefix-kv`, else computed
        (and saved there, atomically)."""
        if prefix in self._prefixes:
            self._prefixes.move_to_end(prefix)
            return self._prefixes[prefix]
        torch = self._torch
        file = self._prefix_file(prefix)
        layers = None
        if file is not None and file.is_file():
            try:
                saved = torch.load(file, map_location=self.model.device, weights_only=True)
                layers = [(keys, values) for keys, values in saved]
            except Exception as exc:  # a truncated or foreign file: compute it again
                logger.warning("ignoring the saved prefix cache %s: %s", file, exc)
        if layers is None:
            with torch.inference_mode():
                ids = torch.tensor([prefix], device=self.model.device)
                output = self.model(input_ids=ids, use_cache=True, **self._prefix_kwargs)
            cache = getattr(output, self._cache_kwarg)
            layers = [(layer.keys, layer.values) for layer in cache.layers]
            if file is not None:
                try:
                    file.parent.mkdir(parents=True, exist_ok=True)
                    partial = file.with_suffix(f".{os.getpid()}.tmp")
                    torch.save([[k.cpu(), v.cpu()] for k, v in layers], partial)
                    os.replace(partial, file)
                except OSError as exc:  # a read-only home: keep it in memory only
                    logger.warning("could not save the prefix cache to %s: %s", file, exc)
        self._prefixes[prefix] = layers
        while len(self._prefixes) > self.prefix_cache_size:
            self._prefixes.popitem(last=False)
        return layers

    def _batch_inputs(self, rows: list[tuple[list[int], list[int]]]) -> tuple[dict[str, Any], Any]:
        """input_ids and attention_mask laid out `[pad][prefix][pad][suffix]`, and the prefixes' cache (or None)."""
        torch = self._torch
        longest_prefix = max(len(p) for p, _ in rows)
        longest_suffix = max(len(s) for _, s in rows)
        width = longest_prefix + longest_suffix
        input_ids = torch.full((len(rows), width), self.tokenizer.pad_token_id, dtype=torch.long)
        mask = torch.zeros((len(rows), width), dtype=torch.long)
        for r, (prefix, suffix) in enumerate(rows):
            if prefix:
                input_ids[r, longest_prefix - len(prefix) : longest_prefix] = torch.tensor(prefix)
                mask[r, longest_prefix - len(prefix) : longest_prefix] = 1
            input_ids[r, width - len(suffix) :] = torch.tensor(suffix)
            mask[r, width - len(suffix) :] = 1
        device = self.model.device
        inputs = {"input_ids": input_ids.to(device), "attention_mask": mask.to(device)}
        if not longest_prefix:
            return inputs, None
        from transformers import DynamicCache

        kvs = [self._prefix_kv(tuple(prefix)) if prefix else None for prefix, _ in rows]
        template = next(kv for kv in kvs if kv is not None)
        cache = DynamicCache(config=self.model.config)
        for layer, (keys, values) in enumerate(template):
            shape = (len(rows), keys.shape[1], longest_prefix, keys.shape[3])
            batch_keys = keys.new_zeros(shape)
            batch_values = values.new_zeros(shape)
            for r, kv in enumerate(kvs):
                if kv is not None:
                    length = kv[layer][0].shape[2]
                    batch_keys[r, :, longest_prefix - length :] = kv[layer][0][0]
                    batch_values[r, :, longest_prefix - length :] = kv[layer][1][0]
            cache.update(batch_keys, batch_values, layer)
        return inputs, cache

    def _generate(
        self,
        rows: list[tuple[list[int], list[int]]],
        prefills: list[str],
        options: GenerationOptions,
        bans: list[dict[tuple[int, ...], list[int]]] | None = None,
        schemas: list[dict[str, Any] | None] | None = None,
    ) -> list[GenerationResult]:
        torch = self._torch
        start = time.perf_counter()
        encoded, cache = self._batch_inputs(rows)
        kwargs: dict[str, Any] = {
            "max_new_tokens": options.max_new_tokens,
            "repetition_penalty": options.repetition_penalty,
            "pad_token_id": self.tokenizer.pad_token_id,
        }
        if options.temperature > 0:
            kwargs.update(do_sample=True, temperature=options.temperature, top_p=options.top_p)
            if options.seed is not None:
                torch.manual_seed(options.seed)
        else:
            kwargs.update(do_sample=False, temperature=None, top_p=None, top_k=None)
        if options.stop:
            kwargs.update(stop_strings=options.stop, tokenizer=self.tokenizer)
        if cache is not None:
            kwargs[self._cache_kwarg] = cache
        processors: list[Any] = [_RowBans(bans)] if bans and any(bans) else []
        if schemas and any(schemas):
            grammars = [self.grammars.start(schema, prefill) if schema else None
                        for schema, prefill in zip(schemas, prefills, strict=True)]  # fmt: skip
            ends = {self.tokenizer.pad_token_id, self.tokenizer.eos_token_id}
            processors.append(_RowGrammars(grammars, ends))
        if processors:
            from transformers import LogitsProcessorList

            kwargs["logits_processor"] = LogitsProcessorList(processors)
        try:
            with torch.inference_mode():
                output = self.model.generate(**encoded, **kwargs)
        except RuntimeError as exc:  # out of memory and the like
            raise BackendError(f"local generation with {self.name} failed: {exc}; try a smaller batch") from exc
        seconds = time.perf_counter() - start
        prompt_len = encoded["input_ids"].shape[1]
        stop_ids = {self.tokenizer.pad_token_id, self.tokenizer.eos_token_id}
        results: list[GenerationResult] = []
        for row, prefill in zip(output, prefills, strict=True):
            new = row[prompt_len:].tolist()
            count = next((n for n, tok in enumerate(new) if tok in stop_ids), len(new))
            text = self.tokenizer.decode(new[:count], skip_special_tokens=True)
            finish = "length" if count >= options.max_new_tokens else "stop"
            for stop in options.stop:
                cut = text.find(stop)
                if cut >= 0:
                    text, finish = text[:cut], "stop"
            results.append(
                GenerationResult(
                    text=prefill + text,
                    tokens_generated=count,
                    prompt_tokens=int(encoded["attention_mask"][len(results)].sum()),
                    seconds=seconds / len(rows),
                    finish_reason=finish,
                )
            )
        return results


class _RowBans:
    """A logits processor keeping each row of a batch off its own banned token sequences (`options.avoid`):
    a sequence's last token is banned where the row's latest tokens are the ones before it."""

    def __init__(self, bans: list[dict[tuple[int, ...], list[int]]]) -> None:
        self.bans = bans
        self.depth = max((len(prefix) for table in bans for prefix in table), default=0)

    def __call__(self, input_ids: Any, scores: Any) -> Any:
        for row, table in enumerate(self.bans):
            if table:
                recent = input_ids[row, -self.depth :].tolist() if self.depth else []
                banned = banned_next(table, self.depth, recent)
                if banned:
                    scores[row, banned] = float("-inf")
        return scores


class _RowGrammars:
    """A logits processor keeping each row with a JSON schema on its grammar: it tells the row's matcher the token
    the row chose last, then allows only the tokens the schema allows next. A finished row (one that wrote the end
    token, which the grammar allows only after complete JSON, or is padded after a stop string) is left alone."""

    def __init__(self, grammars: list[RowGrammar | None], end_token_ids: set[int]) -> None:
        self.grammars = grammars
        self.end_token_ids = end_token_ids
        self.started = False
        self.done = [grammar is None for grammar in grammars]

    def __call__(self, input_ids: Any, scores: Any) -> Any:
        import torch

        for row, grammar in enumerate(self.grammars):
            if grammar is None or self.done[row]:
                continue
            if self.started:
                token = int(input_ids[row, -1])
                if token in self.end_token_ids:
                    self.done[row] = True
                    continue
                grammar.advance(token)
            allowed = torch.from_numpy(grammar.allowed()).to(scores.device)
            width = min(scores.shape[-1], allowed.shape[0])
            row_scores = scores[row]
            if not torch.isfinite(row_scores[:width][allowed[:width]]).any():  # the words to avoid took them all
                row_scores[:width][allowed[:width]] = 0.0
            row_scores[:width][~allowed[:width]] = float("-inf")
            row_scores[width:] = float("-inf")
        self.started = True
        return scores

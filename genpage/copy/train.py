"""Training a writer on the house style: a LoRA fine-tune (peft) of a registered generator on the corpus.

`train_writer(TrainSettings(base="qwen2.5-1.5b-instruct", examples=["my_copy.jsonl"]))` fine-tunes the generator
on `prompts/house_style/` plus a shop's own copy (same schema, checked by `genpage.copy.house_style`) and saves the
adapter under the genpage home (`<home>/adapters/<base>/house-style`, which `generator = "<base>+house-style"`
loads). Each pair is the tuned writer's short prompt (`genpage.copy.prompts.writer_messages`, the same one the
writer is asked with) followed by its answer, the JSON the schema's grammar writes; the loss is taken on the
answer's tokens only.

- Only LoRA matrices on the last `layers` transformer layers are trained (every attention and MLP projection of
  them). The layers below are frozen and have no dropout, so their output for each pair never changes: the
  first epoch's passes through the whole model keep it (and checkpoints save it), and from then on every step and
  held-out pass runs only the trained layers, once the kept output is seen to give the whole model's loss. On the
  1.5B model with 4 of 28 layers each epoch after the first costs about a third of the first.
- The device is chosen once (`genpage.embed.weights.pick_device`), and accelerate runs the steps (bf16 autocast
  on CUDA, fp32 on CPU).
- A seeded share of the pairs is held out; its loss is reported after every epoch, with the training loss and
  tokens/s. A tqdm bar shows the steps.
- Every `checkpoint_every` steps (and at each epoch's end) the adapter, the optimizer and where training stands
  are saved under `<out>/checkpoints/`; `resume=True` continues from the latest one (the same corpus and
  settings, or a clear error).
- The adapter folder gets a `manifest.json`: the base model's name and the sha256 of its weights, the corpus's
  sha256, the prompt template's, the settings, the losses, the time taken.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import random
import shutil
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from genpage.copy.house_style import HouseStylePair, house_style_dir, load_house_style
from genpage.copy.prompts import WriterShelf, writer_answer, writer_messages
from genpage.embed.weights import DEFAULT_ADAPTER, adapter_dir, lookup, pick_device, resolve, sha256_of
from genpage.errors import GenpageError
from genpage.resources import prompts_dir
from genpage.version import __version__

logger = logging.getLogger(__name__)

LORA_TARGETS = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")
MANIFEST = "manifest.json"
CHECKPOINTS = "checkpoints"
KEEP_CHECKPOINTS = 2
FROZEN_STATES = "frozen-states.pt"
# the frozen layers' output kept in memory (on the CPU, whatever the device): past this, the pairs left over run the
# whole model every step (the 646-pair corpus on the 1.5B model keeps about 0.6 GB)
MAX_KEPT_STATES_BYTES = 4 * 1024**3
RUN_ONLY = ("out", "resume", "progress", "examples", "threads")  # settings of a run, not of the adapter
# what must not change between a checkpoint and a resumed run (epochs may grow: train longer)
FIXED_ON_RESUME = ("base", "layers", "rank", "alpha", "learning_rate", "batch_size", "held_out", "seed", "max_tokens")


class TrainingError(GenpageError):
    """A writer cannot be trained as asked: a checkpoint that does not fit, an output folder in use, no pairs."""


@dataclass
class TrainSettings:
    """How a writer is trained. `out`: the adapter's folder (default `<home>/adapters/<base>/house-style`);
    `examples`: a shop's own JSONL files of pairs, trained on with the corpus (`use_corpus=False`: alone)."""

    base: str = "qwen2.5-1.5b-instruct"
    examples: list[str] = field(default_factory=list)
    use_corpus: bool = True
    epochs: int = 2
    layers: int = 4  # LoRA on the last `layers` transformer layers only
    rank: int = 16
    alpha: int = 32
    dropout: float = 0.05
    learning_rate: float = 3e-4
    batch_size: int = 8
    held_out: float = 0.1  # the share of pairs held out (at least one)
    seed: int = 0
    max_tokens: int = 192  # a pair longer than this (prompt and answer) is cut from the left
    checkpoint_every: int = 10  # steps
    device: str = "auto"
    threads: int | None = None  # CPU threads (default: the cores this process may use); 1 on a busy machine
    out: str | None = None
    resume: bool = False
    progress: bool = True

    def __post_init__(self) -> None:
        if self.epochs < 1 or self.layers < 1 or self.rank < 1 or self.batch_size < 1 or self.checkpoint_every < 1:
            raise TrainingError("epochs, layers, rank, batch size and checkpoint interval are at least 1")
        if not 0 < self.held_out < 1:
            raise TrainingError(f"held_out is a share of the pairs, between 0 and 1, not {self.held_out}")


@dataclass
class EpochReport:
    epoch: int
    train_loss: float
    held_out_loss: float
    seconds: float
    tokens_per_second: float


@dataclass
class TrainResult:
    adapter: Path
    manifest: dict[str, Any]
    epochs: list[EpochReport]


# ---------------------------------------------------------------- data (pure)


def shelf_of(pair: HouseStylePair) -> WriterShelf:
    """A corpus pair's shelf, as the tuned writer's prompt shows it."""
    return WriterShelf(kind=pair.kind, shelf=pair.shelf, theme=pair.theme, kinds=tuple(pair.kinds[:2]),
                       anchor=pair.anchor, campaign=pair.campaign, tone=pair.tone, locale=pair.locale)  # fmt: skip


def training_pairs(examples: Sequence[str | Path] = (), use_corpus: bool = True) -> list[HouseStylePair]:
    """The corpus (unless `use_corpus` is false) and a shop's own files; bad rows raise `HouseStyleError` naming
    the file, line and field."""
    sources: list[str | Path] = [house_style_dir()] if use_corpus else []
    sources += list(examples)
    if not sources:
        raise TrainingError("nothing to train on: give --examples, or keep the house-style corpus")
    return load_house_style(sources)


def corpus_sha256(pairs: Sequence[HouseStylePair]) -> str:
    """The sha256 of the pairs trained on (their JSON, in order): what the manifest and checkpoints record."""
    digest = hashlib.sha256()
    for pair in pairs:
        digest.update(pair.model_dump_json().encode())
        digest.update(b"\n")
    return digest.hexdigest()


def split_held_out(count: int, share: float, seed: int) -> tuple[list[int], list[int]]:
    """(training, held-out) indices: a seeded random `share` of `count` pairs held out, at least one (when there
    are two or more), in their original order."""
    held = max(1, round(count * share)) if count >= 2 else 0
    chosen = set(random.Random(seed).sample(range(count), held))
    return [i for i in range(count) if i not in chosen], sorted(chosen)


def encode_pair(tokenizer: Any, pair: HouseStylePair, max_tokens: int) -> tuple[list[int], int]:
    """(token ids of the prompt and its answer ending with the end token, how many of them are the answer). The
    prompt is the chat template applied to `writer_messages` as the local backend applies it."""
    text = tokenizer.apply_chat_template(
        [m.model_dump() for m in writer_messages(shelf_of(pair))], tokenize=False, add_generation_prompt=True
    )
    prompt = list(tokenizer(str(text), add_special_tokens=False)["input_ids"])
    answer = list(tokenizer(writer_answer(pair.title, pair.blurb), add_special_tokens=False)["input_ids"])
    answer.append(tokenizer.eos_token_id)
    ids = (prompt + answer)[-max_tokens:]
    return ids, min(len(answer), len(ids) - 1)


def batches(order: Sequence[int], size: int) -> list[list[int]]:
    return [list(order[start : start + size]) for start in range(0, len(order), size)]


def epoch_order(train: Sequence[int], seed: int, epoch: int) -> list[int]:
    """The training pairs' order in an epoch: shuffled by (seed, epoch), so a resumed run sees the same order."""
    order = list(train)
    random.Random(seed * 1000 + epoch).shuffle(order)
    return order


# ---------------------------------------------------------------- the model


def _load_model(settings: TrainSettings, home: Path | None, device: str) -> tuple[Any, Any, str]:
    """(the base with LoRA on its last layers, its tokenizer, the base's folder)."""
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from genpage.resources import cpu_threads

    path = resolve(settings.base, kind="generator", home=home)
    if device == "cpu":
        torch.set_num_threads(settings.threads or cpu_threads())
    tokenizer = AutoTokenizer.from_pretrained(path)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    base = AutoModelForCausalLM.from_pretrained(path, dtype=torch.float32)
    total = base.config.num_hidden_layers
    layers = list(range(max(0, total - settings.layers), total))
    config = LoraConfig(r=settings.rank, lora_alpha=settings.alpha, lora_dropout=settings.dropout,
                        task_type="CAUSAL_LM", target_modules=list(LORA_TARGETS), layers_to_transform=layers)
    model = get_peft_model(base, config)
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    logger.info("LoRA on layers %d-%d of %d: %d trainable parameters", layers[0], layers[-1], total, trainable)
    return model, tokenizer, path


def _batch_tensors(encoded: list[tuple[list[int], int]], pad_id: int, device: Any,
                   states: list[Any] | None = None) -> dict[str, Any]:  # fmt: skip
    """Left-padded input ids, attention mask and position ids, and the labels of the answers' last positions
    (`keep`: how many final positions need logits; everything else is -100); with each row's frozen `states`
    (`_frozen_states`), those too, left-padded with zeros."""
    import torch

    width = max(len(ids) for ids, _ in encoded)
    keep = max(answer for _, answer in encoded)
    input_ids = torch.full((len(encoded), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(encoded), width), dtype=torch.long)
    labels = torch.full((len(encoded), keep), -100, dtype=torch.long)
    for row, (ids, answer) in enumerate(encoded):
        input_ids[row, width - len(ids) :] = torch.tensor(ids)
        mask[row, width - len(ids) :] = 1
        labels[row, keep - answer :] = torch.tensor(ids[-answer:])
    positions = (mask.cumsum(-1) - 1).clamp(min=0)
    batch = {"input_ids": input_ids.to(device), "attention_mask": mask.to(device), "position_ids": positions.to(device),
             "labels": labels.to(device), "keep": keep}  # fmt: skip
    if states is not None:
        padded = states[0].new_zeros((len(states), width, states[0].shape[-1]))
        for row, hidden in enumerate(states):
            padded[row, width - hidden.shape[0] :] = hidden
        batch["states"] = padded.to(device)
    return batch


def _layers_owner(model: Any) -> Any:
    """The module whose `layers` are the decoder layers (Qwen2Model, LlamaModel ...), or None."""
    base = model.get_base_model() if hasattr(model, "get_base_model") else model
    inner = getattr(base, "model", None)
    return inner if hasattr(inner, "layers") else None


@contextmanager
def _top_layers(model: Any, start: int) -> Iterator[None]:
    """Run the model with its decoder layers from `start` on only (fed the frozen states as its input)."""
    import torch

    owner = _layers_owner(model)
    full = owner.layers
    owner.layers = torch.nn.ModuleList(list(full)[start:])
    try:
        yield
    finally:
        owner.layers = full


def _loss(model: Any, batch: dict[str, Any], start: int = 0) -> Any:
    """Mean cross-entropy of the answers' tokens: logits only for the last `keep + 1` positions (the output head
    over the whole prompt would cost as much as a layer), each predicting the next token."""
    import torch

    keep = batch["keep"]
    inputs = {"attention_mask": batch["attention_mask"], "position_ids": batch["position_ids"],
              "logits_to_keep": keep + 1}  # fmt: skip
    if "states" in batch:  # the frozen layers' output, computed once: only the trained layers run
        with _top_layers(model, start):
            output = model(inputs_embeds=batch["states"], **inputs)
    else:
        output = model(input_ids=batch["input_ids"], **inputs)
    logits = output.logits[:, -keep - 1 : -1, :].float()
    return torch.nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), batch["labels"].reshape(-1))


def _held_out_loss(run: _Run) -> float:
    import torch

    if not run.held:
        return float("nan")
    run.model.eval()
    total, tokens = 0.0, 0
    with torch.inference_mode():
        for chunk in batches(run.held, run.settings.batch_size):
            count = sum(run.encoded[i][1] for i in chunk)
            total += float(_pairs_loss(run, chunk)) * count
            tokens += count
    run.model.train()
    return total / tokens


# ---------------------------------------------------------------- checkpoints and the manifest


def _checkpoints(out: Path) -> list[Path]:
    found = [p for p in (out / CHECKPOINTS).glob("step-*") if p.name.split("-")[1].isdigit()]  # not a .partial
    return sorted(found, key=lambda p: int(p.name.split("-")[1]))


def _save_checkpoint(run: _Run, state: dict[str, Any]) -> Path:
    """The adapter, the optimizer and `state` (epoch, step, losses so far) under `<out>/checkpoints/step-N`,
    written to a temporary folder first; only the latest `KEEP_CHECKPOINTS` are kept."""
    import torch

    out = run.out
    folder = out / CHECKPOINTS / f"step-{state['step']:06d}"
    partial = folder.with_name(folder.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    run.accelerator.unwrap_model(run.model).save_pretrained(str(partial))
    torch.save(run.optimizer.state_dict(), partial / "optimizer.pt")
    if run.states:  # the frozen layers' output kept so far: a resumed run need not compute it again
        kept = {"start": run.start, "corpus_sha256": state["corpus_sha256"], "states": run.states}
        torch.save(kept, out / CHECKPOINTS / "frozen-states.partial")
        (out / CHECKPOINTS / "frozen-states.partial").replace(out / CHECKPOINTS / FROZEN_STATES)
    (partial / "state.json").write_text(json.dumps(state, indent=2), encoding="utf-8")
    shutil.rmtree(folder, ignore_errors=True)
    partial.rename(folder)
    for old in _checkpoints(out)[:-KEEP_CHECKPOINTS]:
        shutil.rmtree(old, ignore_errors=True)
    logger.info("checkpoint %s", folder)
    return folder


def _resume_state(out: Path, settings: TrainSettings, corpus: str, model: Any, optimizer: Any) -> dict[str, Any]:
    """Load the latest checkpoint's adapter and optimizer into `model` and `optimizer`; its state. It must have
    been made from the same pairs with the same settings."""
    import torch
    from peft import set_peft_model_state_dict
    from safetensors.torch import load_file

    found = _checkpoints(out)
    if not found:
        raise TrainingError(f"nothing to resume: no checkpoint in {out / CHECKPOINTS}")
    folder = found[-1]
    state = json.loads((folder / "state.json").read_text(encoding="utf-8"))
    if state["corpus_sha256"] != corpus:
        raise TrainingError(f"{folder} was trained on other pairs (corpus sha256 {state['corpus_sha256'][:12]}, "
                            f"now {corpus[:12]}): train afresh without --resume, into another --out")  # fmt: skip
    changed = [name for name in FIXED_ON_RESUME if state["settings"][name] != getattr(settings, name)]
    if changed:
        raise TrainingError(f"{folder} was trained with other settings ({', '.join(changed)}): resume with the "
                            "same ones, or train afresh into another --out")  # fmt: skip
    set_peft_model_state_dict(model, load_file(str(folder / "adapter_model.safetensors")))
    optimizer.load_state_dict(torch.load(folder / "optimizer.pt", weights_only=True, map_location="cpu"))
    logger.info("resuming from %s (epoch %d, step %d)", folder, state["epoch"] + 1, state["step"])
    return state


def _load_states(out: Path, run: _Run) -> dict[int, Any]:
    """The frozen layers' output a checkpointed run kept, when it was kept for the same pairs and layers."""
    import torch

    file = out / CHECKPOINTS / FROZEN_STATES
    if not file.is_file() or run.start == 0:
        return {}
    kept = torch.load(file, weights_only=True, map_location="cpu")  # a GPU run resumes on a CPU too
    if kept["start"] != run.start or kept["corpus_sha256"] != run.state["corpus_sha256"]:
        return {}
    logger.info("the frozen layers' output of %d pairs is kept from the last run", len(kept["states"]))
    return dict(kept["states"])


def weights_sha256(folder: str | Path) -> str:
    """The sha256 of a model folder's weights (its `*.safetensors` files, in name order)."""
    files = sorted(Path(folder).glob("*.safetensors"))
    return sha256_of(files) if files else ""


def _manifest(settings: TrainSettings, base_path: str, corpus: str, counts: tuple[int, int],
              reports: list[EpochReport], seconds: float) -> dict[str, Any]:  # fmt: skip
    import peft
    import torch
    import transformers

    spec = lookup(settings.base)
    return {
        "base": spec.name if spec else settings.base,
        "base_sha256": weights_sha256(base_path),
        "base_source_sha256": spec.gguf_sha256 if spec else None,
        "corpus_sha256": corpus,
        "prompt_sha256": hashlib.sha256((prompts_dir() / "writer.j2").read_bytes()).hexdigest(),
        "pairs": {"train": counts[0], "held_out": counts[1], "examples": list(settings.examples),
                  "corpus": settings.use_corpus},  # fmt: skip
        "settings": {k: v for k, v in asdict(settings).items() if k not in RUN_ONLY},
        "held_out_loss": reports[-1].held_out_loss if reports else None,
        "epochs": [asdict(report) for report in reports],
        "seconds": round(seconds, 1),
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "versions": {"genpage": __version__, "torch": torch.__version__, "transformers": transformers.__version__,
                     "peft": peft.__version__},  # fmt: skip
    }


# ---------------------------------------------------------------- training


@dataclass
class _Run:
    """What one training run works with."""

    settings: TrainSettings
    out: Path
    model: Any
    optimizer: Any
    accelerator: Any
    encoded: list[tuple[list[int], int]]
    train: list[int]
    held: list[int]
    pad_id: int
    state: dict[str, Any]
    start: int = 0  # the first layer with LoRA (0: run the whole model every step)
    states: dict[int, Any] = field(default_factory=dict)  # pair -> its hidden states entering layer `start`
    checked: bool | None = None  # whether the cached states give the whole model's loss (None: not yet seen)
    kept_bytes: int = 0  # the size of `states`

    @property
    def steps_per_epoch(self) -> int:
        return math.ceil(len(self.train) / self.settings.batch_size)

    def batch(self, chunk: Sequence[int], cached: bool = True) -> dict[str, Any]:
        """A batch of pairs, with their frozen states when every one of them has its states and they are usable."""
        usable = cached and self.start > 0 and self.checked is not False and all(i in self.states for i in chunk)
        states = [self.states[i] for i in chunk] if usable else None
        return _batch_tensors([self.encoded[i] for i in chunk], self.pad_id, self.accelerator.device, states)


def _first_trained_layer(run: _Run) -> int:
    owner = _layers_owner(run.accelerator.unwrap_model(run.model))
    return max(0, len(owner.layers) - run.settings.layers) if owner is not None else 0


@contextmanager
def _capture_states(run: _Run, chunk: Sequence[int]) -> Iterator[None]:
    """Keep each pair's hidden states entering the first trained layer as a forward pass of the whole model goes
    through it (they need no pass of their own)."""

    def grab(module: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        hidden = args[0] if args else kwargs["hidden_states"]
        for row, index in enumerate(chunk):
            length = len(run.encoded[index][0])
            size = length * hidden[row].nbytes // hidden.shape[1]
            if index in run.states or run.kept_bytes + size > MAX_KEPT_STATES_BYTES:
                continue
            run.states[index] = hidden[row, hidden.shape[1] - length :].detach().to("cpu", copy=True)
            run.kept_bytes += size

    owner = _layers_owner(run.accelerator.unwrap_model(run.model))
    handle = owner.layers[run.start].register_forward_pre_hook(grab, with_kwargs=True)
    try:
        yield
    finally:
        handle.remove()


def _check_states(run: _Run, chunk: Sequence[int]) -> None:
    """Use the cached states only if they give the loss the whole model gives (a model whose forward treats given
    embeddings differently runs whole every step instead)."""
    import torch

    training = run.model.training
    run.model.eval()  # no dropout while comparing
    with torch.no_grad():
        whole = float(_loss(run.model, run.batch(chunk, cached=False)))
        cached = float(_loss(run.model, run.batch(chunk), run.start))
    run.model.train(training)
    run.checked = abs(cached - whole) <= 1e-3 * max(1.0, abs(whole))
    if run.checked:
        logger.info("layers 0-%d are run once per pair: their output is kept (loss %.5f either way)", run.start - 1,
                    whole)  # fmt: skip
    else:
        logger.warning("the frozen layers' kept output gives loss %.5f, the whole model %.5f: running the whole "
                       "model every step", cached, whole)  # fmt: skip
        run.states.clear()
        run.kept_bytes = 0


def _pairs_loss(run: _Run, chunk: Sequence[int]) -> Any:
    """The loss of a batch of pairs: through the trained layers only when their frozen states are kept, else
    through the whole model (keeping the states for next time)."""
    batch = run.batch(chunk)
    if "states" in batch and run.checked is None:
        _check_states(run, chunk)
        batch = run.batch(chunk)
    if "states" in batch:
        return _loss(run.model, batch, run.start)
    if run.start > 0 and run.checked is not False:
        with _capture_states(run, chunk):
            return _loss(run.model, batch)
    return _loss(run.model, batch)


def _learning_rate(run: _Run) -> float:
    """Linear decay from the learning rate to a tenth of it over every step of every epoch."""
    total = run.steps_per_epoch * run.settings.epochs
    return run.settings.learning_rate * max(0.1, 1.0 - run.state["step"] / max(1, total))


def _run_epoch(run: _Run, epoch: int, bar: Any) -> EpochReport:
    """One epoch from where the state says it stands: steps, checkpoints, then the held-out loss."""
    settings, state = run.settings, run.state
    order = batches(epoch_order(run.train, settings.seed, epoch), settings.batch_size)
    losses: list[float] = state.setdefault("epoch_losses", [])
    tokens, seconds = 0, 0.0
    for chunk in order[state["batch"] :]:
        started = time.perf_counter()
        rows = [run.encoded[i] for i in chunk]
        for group in run.optimizer.param_groups:
            group["lr"] = _learning_rate(run)
        loss = _pairs_loss(run, chunk)
        run.accelerator.backward(loss)
        run.optimizer.step()
        run.optimizer.zero_grad()
        losses.append(float(loss.detach()))
        tokens += sum(len(ids) for ids, _ in rows)
        seconds += time.perf_counter() - started
        state["step"] += 1
        state["batch"] += 1
        state["seconds"] += time.perf_counter() - started
        bar.update(1)
        bar.set_postfix(epoch=epoch + 1, loss=f"{losses[-1]:.3f}", tok_s=f"{tokens / seconds:.0f}")
        if state["step"] % settings.checkpoint_every == 0 and state["batch"] < len(order):
            _save_checkpoint(run, state)
    held = _held_out_loss(run)
    speed = round(tokens / seconds, 1) if seconds else 0.0
    report = EpochReport(epoch=epoch + 1, train_loss=sum(losses) / max(1, len(losses)), held_out_loss=held,
                         seconds=round(seconds, 1), tokens_per_second=speed)  # fmt: skip
    logger.info("epoch %d: train loss %.4f, held-out loss %.4f, %.1f tokens/s", report.epoch, report.train_loss,
                report.held_out_loss, report.tokens_per_second)  # fmt: skip
    state.update(epoch=epoch + 1, batch=0, epoch_losses=[])
    state["reports"].append(asdict(report))
    _save_checkpoint(run, state)
    return report


def _start(settings: TrainSettings, home: Path | None, out: Path) -> tuple[_Run, str, int]:
    """Everything a run needs, resumed from the latest checkpoint when asked: (run, base folder, pair count)."""
    import torch
    from accelerate import Accelerator

    pairs = training_pairs(settings.examples, settings.use_corpus)
    corpus = corpus_sha256(pairs)
    if not settings.resume and _checkpoints(out):
        raise TrainingError(f"{out / CHECKPOINTS} holds a run already: continue it with --resume, or train into "
                            "another --out (or delete that folder)")  # fmt: skip
    device = pick_device(settings.device)  # chosen once, here
    accelerator = Accelerator(cpu=device == "cpu", mixed_precision="bf16" if device == "cuda" else "no")
    model, tokenizer, base_path = _load_model(settings, home, device)
    encoded = [encode_pair(tokenizer, pair, settings.max_tokens) for pair in pairs]
    train, held = split_held_out(len(pairs), settings.held_out, settings.seed)
    if not train:
        raise TrainingError("at least two pairs are needed: one to train on and one held out")
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=settings.learning_rate)
    state: dict[str, Any] = {"epoch": 0, "batch": 0, "step": 0, "seconds": 0.0, "reports": []}
    if settings.resume:
        state = _resume_state(out, settings, corpus, model, optimizer)
    state.update(corpus_sha256=corpus, settings=asdict(settings))
    model, optimizer = accelerator.prepare(model, optimizer)
    model.train()
    run = _Run(settings, out, model, optimizer, accelerator, encoded, train, held, tokenizer.pad_token_id, state)
    run.start = _first_trained_layer(run)
    if settings.resume:
        run.states = _load_states(out, run)
        run.kept_bytes = sum(int(t.nbytes) for t in run.states.values())
    return run, base_path, len(pairs)


def train_writer(settings: TrainSettings, home: Path | None = None) -> TrainResult:
    """Fine-tune `settings.base` on the house style (see the module docstring); the adapter's folder and manifest."""
    from tqdm.auto import tqdm

    out = Path(settings.out).expanduser() if settings.out else adapter_dir(settings.base, DEFAULT_ADAPTER, home=home)
    out.mkdir(parents=True, exist_ok=True)
    run, base_path, count = _start(settings, home, out)
    total = run.steps_per_epoch * settings.epochs
    done = run.state["epoch"] * run.steps_per_epoch + run.state["batch"]
    logger.info("training %s on %d pairs (%d held out), %d steps per epoch, into %s", settings.base,
                len(run.train), len(run.held), run.steps_per_epoch, out)  # fmt: skip
    with tqdm(total=total, initial=min(done, total), desc="train-writer", unit="step", file=sys.stderr,
              disable=not settings.progress) as bar:  # fmt: skip
        for epoch in range(run.state["epoch"], settings.epochs):
            _run_epoch(run, epoch, bar)
    reports = [EpochReport(**report) for report in run.state["reports"]]
    model = run.accelerator.unwrap_model(run.model)
    model.save_pretrained(str(out))
    manifest = _manifest(settings, base_path, run.state["corpus_sha256"], (len(run.train), len(run.held)),
                         reports, run.state["seconds"])  # fmt: skip
    (out / MANIFEST).write_text(json.dumps(manifest, indent=2), encoding="utf-8")
    logger.info("adapter saved to %s (held-out loss %s, %d pairs)", out, manifest["held_out_loss"], count)
    return TrainResult(adapter=out, manifest=manifest, epochs=reports)

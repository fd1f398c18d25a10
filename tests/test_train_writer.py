"""Training a writer on the house style (genpage.copy.train, `genpage train-writer`) and loading it as a generator:
bad rows of a shop's file, the short prompt (the same for training and generation), the held-out split, and (slow)
a real LoRA on smollm2-135m from a dozen pairs: manifest, loading through the registry, generating, resuming."""

from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path

import pytest
from copy_helpers import page

from genpage.backends import get_backend
from genpage.backends.base import GenerationOptions, GenerationRequest, GenerationResult
from genpage.backends.echo import CannedModel
from genpage.cli import main
from genpage.config import Config
from genpage.copy.generate import COPY_SCHEMA, SCHEMA_MAX_NEW_TOKENS, section_jobs
from genpage.copy.guardrails import DEFAULT_LIMITS
from genpage.copy.house_style import HouseStyleError, load_house_style
from genpage.copy.prompts import writer_answer, writer_messages
from genpage.copy.train import (
    TrainingError,
    TrainSettings,
    encode_pair,
    shelf_of,
    split_held_out,
    train_writer,
    training_pairs,
)
from genpage.embed.weights import adapter_dir, find_adapter, resolve, resolve_gguf, split_adapter
from genpage.errors import ModelNotAvailableError

SMALL = "smollm2-135m-instruct"


def write_pairs(path: Path, count: int = 12) -> Path:
    """`count` corpus pairs from different shops and kinds of shelf, as a shop's own file."""
    pairs = load_house_style()
    chosen = pairs[:: len(pairs) // count][:count]
    path.write_text("\n".join(pair.model_dump_json() for pair in chosen) + "\n", encoding="utf-8")
    return path


def test_bad_example_rows_name_the_file_line_and_field(tmp_path, capsys):
    good = json.loads(load_house_style()[0].model_dump_json())
    bad = tmp_path / "my_copy.jsonl"
    rows = [json.dumps(good), json.dumps({**good, "title": ""}), "{not json", json.dumps({**good, "colour": "red"})]
    bad.write_text("\n".join(rows) + "\n", encoding="utf-8")
    with pytest.raises(HouseStyleError) as caught:
        training_pairs([bad])
    assert [p.split(":")[0] for p in caught.value.problems] == [f"{bad}, line 2, field 'title'", f"{bad}, line 3",
                                                                  f"{bad}, line 4, field 'colour'"]  # fmt: skip
    assert main(["train-writer", "--base", SMALL, "--examples", str(bad), "--out", str(tmp_path / "adapter")]) == 1
    err = capsys.readouterr().err
    assert err.startswith("genpage: error: 3 problem(s) in house-style pairs:")
    assert f"{bad}, line 3: not valid JSON" in err
    assert not (tmp_path / "adapter" / "checkpoints").exists()


def test_a_shops_copy_is_trained_with_the_corpus_or_alone(tmp_path):
    mine = write_pairs(tmp_path / "mine.jsonl", 5)
    assert len(training_pairs([mine])) == len(load_house_style()) + 5
    assert len(training_pairs([mine], use_corpus=False)) == 5
    with pytest.raises(TrainingError, match="nothing to train on"):
        training_pairs([], use_corpus=False)


def test_the_held_out_split_is_seeded_and_disjoint():
    train, held = split_held_out(646, 0.1, seed=0)
    assert len(held) == 65 and sorted(train + held) == list(range(646))
    assert split_held_out(646, 0.1, seed=0) == (train, held)
    assert split_held_out(646, 0.1, seed=1)[1] != held
    assert split_held_out(3, 0.1, seed=0)[1] != []  # at least one pair held out


def test_the_writer_prompt_is_short_and_carries_the_shelf():
    pair = next(p for p in load_house_style() if p.kind == "campaign")
    [system, user] = writer_messages(shelf_of(pair))
    assert system.role == "system" and user.role == "user"
    text = system.content + "\n" + user.content
    assert len(text.split()) < 50, text
    for value in (pair.kind, pair.shelf, pair.campaign, pair.tone, pair.locale, *pair.kinds):
        assert value in user.content
    assert "Anchor" not in user.content and "Theme" not in user.content  # what the shelf lacks is left out
    assert json.loads(writer_answer(pair.title, pair.blurb)) == {"title": pair.title, "blurb": pair.blurb}


class TunedCanned(CannedModel):
    """A canned text model named as a tuned writer is ("<base>+<adapter>")."""

    name = "canned+house-style"

    def __init__(self) -> None:
        super().__init__()
        self.seen: list[GenerationRequest] = []

    def generate_batch(self, requests: list[GenerationRequest]) -> list[GenerationResult]:
        self.seen += requests
        return super().generate_batch(requests)


def test_a_tuned_writer_gets_the_short_prompt_and_its_own_cache_keys(config):
    plain = section_jobs([page()], CannedModel(), config, DEFAULT_LIMITS)
    tuned_model = TunedCanned()
    tuned = section_jobs([page()], tuned_model, config, DEFAULT_LIMITS)
    for job in tuned:
        [system, user] = [m for m in job.request.messages if m.role != "assistant"]
        assert system.content == writer_messages(shelf_of(load_house_style()[0]))[0].content
        assert user.content.startswith("Section: ") and "Locale: en-GB" in user.content
    assert all(len(p.request.messages) > len(t.request.messages) + 2 for p, t in zip(plain, tuned, strict=True))
    assert not {j.key for j in plain} & {j.key for j in tuned}
    tuned_model.identity = "canned+house-style@0123456789abcdef"  # a retrained adapter: other keys again
    assert not {j.key for j in tuned} & {j.key for j in section_jobs([page()], tuned_model, config, DEFAULT_LIMITS)}


def test_adapter_names_and_paths(tmp_path):
    assert split_adapter("qwen2.5-1.5b-instruct+house-style") == ("qwen2.5-1.5b-instruct", "house-style")
    assert split_adapter("qwen-1.5b") == ("qwen-1.5b", None)
    assert split_adapter(f"{SMALL}+{tmp_path}") == (SMALL, str(tmp_path))
    assert adapter_dir("smollm2-135m", home=tmp_path) == tmp_path / "adapters" / SMALL / "house-style"
    assert adapter_dir(SMALL, str(tmp_path / "mine"), home=tmp_path) == tmp_path / "mine"
    with pytest.raises(ModelNotAvailableError, match="genpage train-writer --base qwen2.5-1.5b-instruct"):
        find_adapter("qwen2.5-1.5b-instruct", "a-style-nobody-trained", home=tmp_path)


def test_a_packaged_adapter_is_found_unless_the_home_has_one_of_that_name(tmp_path, monkeypatch):
    import genpage.embed.weights as weights

    packaged = tmp_path / "package" / SMALL / "house-style"
    packaged.mkdir(parents=True)
    (packaged / "adapter_config.json").write_text("{}")
    monkeypatch.setattr(weights, "PACKAGED_ADAPTERS", tmp_path / "package")
    assert find_adapter(SMALL, "house-style", home=tmp_path / "home") == packaged
    assert find_adapter("smollm2-135m", "house-style", home=tmp_path / "home") == packaged  # an alias of the model
    trained = adapter_dir(SMALL, "house-style", home=tmp_path / "home")
    trained.mkdir(parents=True)
    (trained / "adapter_config.json").write_text("{}")
    assert find_adapter(SMALL, "house-style", home=tmp_path / "home") == trained  # the shop's own run wins
    with pytest.raises(ModelNotAvailableError):  # a folder is taken as given, never swapped for the packaged one
        find_adapter(SMALL, str(tmp_path / "nowhere" / "house-style"), home=tmp_path / "home")


def test_a_fresh_run_does_not_overwrite_a_run_in_progress(tmp_path):
    (tmp_path / "adapter" / "checkpoints" / "step-000003").mkdir(parents=True)
    settings = TrainSettings(base=SMALL, examples=[str(write_pairs(tmp_path / "mine.jsonl"))], use_corpus=False,
                             out=str(tmp_path / "adapter"), progress=False)  # fmt: skip
    with pytest.raises(TrainingError, match="--resume"):
        train_writer(settings, home=tmp_path)


# ---------------------------------------------------------------- a real LoRA on smollm2-135m (slow)


def small_settings(tmp_path: Path, **changes: object) -> TrainSettings:
    settings = TrainSettings(base=SMALL, examples=[str(write_pairs(tmp_path / "mine.jsonl"))], use_corpus=False,
                             epochs=1, layers=1, rank=4, alpha=8, dropout=0.0, learning_rate=1e-3, batch_size=6,
                             checkpoint_every=1, threads=1, out=str(tmp_path / "adapter"), progress=False)  # fmt: skip
    for name, value in changes.items():
        setattr(settings, name, value)
    return settings


@pytest.fixture(scope="module")
def trained(genpage_home, tmp_path_factory):
    """smollm2-135m tuned on a dozen pairs: one epoch, two steps, a checkpoint after each."""
    tmp_path = tmp_path_factory.mktemp("writer")
    return tmp_path, train_writer(small_settings(tmp_path), home=genpage_home)


@pytest.mark.slow
def test_train_writer_saves_an_adapter_with_its_manifest(trained, genpage_home):
    tmp_path, result = trained
    assert result.adapter == tmp_path / "adapter"
    assert (result.adapter / "adapter_model.safetensors").is_file()
    manifest = json.loads((result.adapter / "manifest.json").read_text())
    assert manifest == result.manifest
    assert manifest["base"] == SMALL and len(manifest["base_sha256"]) == 64 and len(manifest["corpus_sha256"]) == 64
    assert manifest["pairs"] == {"train": 11, "held_out": 1, "examples": [str(tmp_path / "mine.jsonl")],
                                 "corpus": False}  # fmt: skip
    assert manifest["settings"]["layers"] == 1 and manifest["settings"]["rank"] == 4
    [epoch] = manifest["epochs"]
    assert epoch["epoch"] == 1 and epoch["tokens_per_second"] > 0
    assert manifest["held_out_loss"] == epoch["held_out_loss"] > 0 and manifest["seconds"] > 0
    assert sorted(p.name for p in (result.adapter / "checkpoints").iterdir()) == ["frozen-states.pt", "step-000001",
                                                                              "step-000002"]


@pytest.mark.slow
def test_the_adapter_loads_through_the_registry_and_writes_json(trained, genpage_home):
    tmp_path, result = trained
    config = Config(home=genpage_home, backend="local", generator=f"{SMALL}+{result.adapter}", device="cpu")
    writer = get_backend(config)
    assert writer.name == f"{SMALL}+{result.adapter}"
    assert writer.identity.startswith(f"{writer.name}@")
    pair = load_house_style()[1]
    request = GenerationRequest(messages=writer_messages(shelf_of(pair)), json_schema=COPY_SCHEMA,
                                options=GenerationOptions(max_new_tokens=SCHEMA_MAX_NEW_TOKENS))
    answer = writer.generate(request)
    assert answer.finish_reason == "stop", answer.text
    copy = json.loads(answer.text)
    assert set(copy) == {"title", "blurb"} and copy["title"] and answer.tokens_generated > 0


@pytest.mark.slow
def test_the_adapter_runs_on_the_gguf_through_llama_cpp(trained, genpage_home):
    """backend "auto" keeps llama.cpp for a tuned writer: its LoRA, converted once to llama.cpp's adapter GGUF
    (peft's lora_A as is, lora_B with the query and key rows in the llama converter's order), applied at run time."""
    pytest.importorskip("llama_cpp")
    import gguf
    import numpy as np
    from safetensors.numpy import load_file

    from genpage.backends.lora_gguf import _permute, adapter_gguf

    tmp_path, result = trained
    config = Config(home=genpage_home, backend="auto", generator=f"{SMALL}+{result.adapter}", device="cpu")
    writer = get_backend(config)
    assert writer.backend_name == "llamacpp" and writer.name == f"{SMALL}+{result.adapter}"
    assert writer.identity == get_backend(config.model_copy(update={"backend": "local"})).identity  # one cache key
    cache = genpage_home / "cache" / "lora-gguf"
    before = set(cache.iterdir())
    converted = adapter_gguf(result.adapter, resolve_gguf(SMALL, home=genpage_home)[0], cache)
    assert converted in before and set(cache.iterdir()) == before  # converted once, by the backend
    reader = gguf.GGUFReader(str(converted))
    assert reader.fields["adapter.type"].contents() == "lora" and reader.fields["adapter.lora.alpha"].contents() == 8
    tensors = {t.name: np.asarray(t.data) for t in reader.tensors}
    peft = load_file(str(result.adapter / "adapter_model.safetensors"))
    assert len(tensors) == len(peft) == 14  # 7 projections of the last layer, A and B each
    peft = {name.removeprefix("base_model.model.model.layers.29."): value for name, value in peft.items()}
    np.testing.assert_array_equal(tensors["blk.29.ffn_down.weight.lora_a"], peft["mlp.down_proj.lora_A.weight"])
    np.testing.assert_array_equal(tensors["blk.29.attn_v.weight.lora_b"], peft["self_attn.v_proj.lora_B.weight"])
    query_b = peft["self_attn.q_proj.lora_B.weight"]
    np.testing.assert_array_equal(tensors["blk.29.attn_q.weight.lora_b"], _permute(query_b, 9))  # 9 heads
    # the reordering is the one llama.cpp's converter gave the base: the GGUF's own query and key weights are the
    # Hugging Face ones (transformers' un-reordered copy of the same file) in that order, exactly
    wanted = ("blk.29.attn_q.weight", "blk.29.attn_k.weight")
    base_file = gguf.GGUFReader(str(resolve_gguf(SMALL, home=genpage_home)[0]))
    base = {t.name: gguf.quants.dequantize(t.data, t.tensor_type) for t in base_file.tensors if t.name in wanted}
    hf = load_file(str(Path(resolve(SMALL, kind="generator", home=genpage_home)) / "model.safetensors"))
    for name, heads in (("q", 9), ("k", 3)):
        weight = hf[f"model.layers.29.self_attn.{name}_proj.weight"].astype(np.float32)
        np.testing.assert_array_equal(_permute(weight, heads), base[f"blk.29.attn_{name}.weight"])
        assert not np.array_equal(weight, base[f"blk.29.attn_{name}.weight"])
    request = GenerationRequest(messages=writer_messages(shelf_of(load_house_style()[1])), json_schema=COPY_SCHEMA,
                                options=GenerationOptions(max_new_tokens=SCHEMA_MAX_NEW_TOKENS))  # fmt: skip
    copy = json.loads(writer.generate(request).text)
    assert set(copy) == {"title", "blurb"} and copy["title"]
    writer.close()


@pytest.mark.slow
def test_resume_continues_from_the_latest_checkpoint(trained, genpage_home, caplog):
    """Without its last checkpoint, the run resumes after step 1 and ends with the weights it ended with."""
    from safetensors.torch import load_file

    tmp_path, result = trained
    finished = load_file(str(result.adapter / "adapter_model.safetensors"))
    resumed_dir = tmp_path / "resumed"
    step_one = result.adapter / "checkpoints" / "step-000001"
    shutil.copytree(step_one, resumed_dir / "checkpoints" / step_one.name)
    resumed = train_writer(small_settings(tmp_path, out=str(resumed_dir), resume=True), home=genpage_home)
    weights = load_file(str(resumed.adapter / "adapter_model.safetensors"))
    assert weights.keys() == finished.keys()
    for name, tensor in finished.items():
        assert (weights[name] - tensor).abs().max() < 1e-5, name
    assert resumed.manifest["held_out_loss"] == pytest.approx(result.manifest["held_out_loss"], rel=1e-4)
    with caplog.at_level(logging.INFO, logger="genpage.copy.train"):
        more = train_writer(small_settings(tmp_path, out=str(resumed_dir), resume=True, epochs=2), home=genpage_home)
    assert [e["epoch"] for e in more.manifest["epochs"]] == [1, 2]
    # the second epoch ran the trained layer only, on the frozen layers' output kept from the first
    assert "layers 0-28 are run once per pair" in caplog.text and "running the whole model" not in caplog.text
    with pytest.raises(TrainingError, match="other settings"):
        train_writer(small_settings(tmp_path, out=str(resumed_dir), resume=True, rank=8), home=genpage_home)


def test_encoded_pairs_end_with_the_answer_and_the_end_token(genpage_home):
    from transformers import AutoTokenizer

    from genpage.embed.weights import resolve

    tokenizer = AutoTokenizer.from_pretrained(resolve(SMALL, kind="generator", home=genpage_home))
    pair = load_house_style()[0]
    ids, answer = encode_pair(tokenizer, pair, max_tokens=512)
    assert ids[-1] == tokenizer.eos_token_id
    assert tokenizer.decode(ids[-answer:-1]) == writer_answer(pair.title, pair.blurb)
    short, kept = encode_pair(tokenizer, pair, max_tokens=20)
    assert short == ids[-20:] and kept == min(answer, 19)

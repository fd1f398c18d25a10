"""One contract, every backend: echo, openai (against a real local HTTP server answering with the echo model),
local and llamacpp (both with the real smollm2-135m generator, slow; llamacpp when llama-cpp-python is installed)."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator

import pytest
import uvicorn
from copy_helpers import page
from pydantic import ValidationError

from genpage.backends import (
    GenerationOptions,
    GenerationRequest,
    Message,
    TextModel,
    backend_class,
    backend_names,
    get_backend,
    register_backend,
)
from genpage.backends.echo import EchoModel
from genpage.backends.openai_compat import OpenAICompatModel
from genpage.backends.server import make_app
from genpage.config import Config
from genpage.copy.generate import generate_copy
from genpage.errors import BackendError, ConfigError


class _Server:
    """A uvicorn server in a thread on a free 127.0.0.1 port."""

    def __init__(self, app) -> None:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.app = app
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def __enter__(self) -> _Server:
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("the test server did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=5)


@pytest.fixture(scope="module")
def echo_server() -> Iterator[_Server]:
    with _Server(make_app(EchoModel())) as server:
        yield server


@pytest.fixture(scope="session")
def smollm(genpage_home):
    config = Config(home=genpage_home, backend="local", generator="smollm2-135m-instruct", device="cpu")
    return get_backend(config)


@pytest.fixture(scope="session")
def smollm_cpp(genpage_home):
    pytest.importorskip("llama_cpp", reason="llama-cpp-python is not installed (pip install 'genpage[llamacpp]')")
    config = Config(home=genpage_home, backend="llamacpp", generator="smollm2-135m-instruct", device="cpu")
    return get_backend(config)


@pytest.fixture(params=["echo", "openai", pytest.param("local", marks=pytest.mark.slow),
                        pytest.param("llamacpp", marks=pytest.mark.slow)])  # fmt: skip
def backend(request) -> TextModel:
    if request.param == "echo":
        return get_backend(Config(backend="echo"))
    if request.param == "openai":
        server = request.getfixturevalue("echo_server")
        return get_backend(Config(backend="openai", openai_base_url=server.url, openai_model="echo"))
    return request.getfixturevalue("smollm" if request.param == "local" else "smollm_cpp")


def _request(products: list[str], **options) -> GenerationRequest:
    lines = "\n".join(f"- {p} (Kitchen)" for p in products)
    return GenerationRequest(
        messages=[
            Message(role="system", content="Reply with JSON copy for a shop section: title and blurb."),
            Message(role="user", content=f"Section: trending\nProducts:\n{lines}"),
        ],
        options=GenerationOptions(max_new_tokens=options.pop("max_new_tokens", 48), **options),
    )


# ---------------------------------------------------------------- the contract


def test_one_result_per_request_in_order(backend):
    requests = [_request(["Enamel Teapot", "Tea Cup"]), _request(["Garden Trowel"]), _request(["Wool Scarf"])]
    results = backend.generate_batch(requests)
    assert len(results) == 3
    for result in results:
        assert isinstance(result.text, str) and result.text.strip()
        assert 0 < result.tokens_generated <= 48
        assert result.seconds >= 0 and result.finish_reason in ("stop", "length")
    if backend.batch_invariant:
        alone = backend.generate_batch([requests[1]])[0]
        assert alone.text == results[1].text  # greedy: a request's answer does not depend on its batch
    else:  # the same batch again gives the same answers
        assert [r.text for r in backend.generate_batch(requests)] == [r.text for r in results]


def test_empty_batch(backend):
    assert backend.generate_batch([]) == []


def test_greedy_is_deterministic(backend):
    request = _request(["Linen Tea Towel", "Wooden Spoon"])
    assert backend.generate(request).text == backend.generate(request).text


def test_max_new_tokens_is_respected(backend):
    result = backend.generate(_request(["Linen Tea Towel"], max_new_tokens=3))
    assert result.tokens_generated <= 3
    assert result.finish_reason == "length"


def test_prefill_is_continued(backend):
    if not backend.supports_prefill:
        pytest.skip(f"{backend.backend_name} does not continue an assistant message")
    request = _request(["Linen Tea Towel"])
    request = request.model_copy(
        update={"messages": [*request.messages, Message(role="assistant", content='{"title": "')]}
    )
    assert backend.generate(request).text.startswith('{"title": "')


def test_json_schema_gives_json(backend):
    if not backend.supports_json_schema:
        pytest.skip(f"{backend.backend_name} does not constrain output to a JSON schema")
    schema = {"type": "object", "properties": {"title": {"type": "string", "maxLength": 60},
                                               "blurb": {"type": "string", "maxLength": 200}},
              "required": ["title", "blurb"], "additionalProperties": False}  # fmt: skip
    # a grammar makes the answer JSON if it ends within its tokens: 300 hold 260 characters in any tokens
    request = _request(["Linen Tea Towel", "Wooden Spoon"], max_new_tokens=300).model_copy(
        update={"json_schema": schema}
    )
    data = json.loads(backend.generate(request).text)
    assert set(data) >= {"title", "blurb"}


def test_copy_for_a_page(backend):
    [plan] = generate_copy([page()], backend=backend, store=None, config=Config(backend="echo"))
    for section in plan.sections:
        assert section.copy_ is not None
        assert section.copy_source in (backend.name, "fallback")
        assert (section.copy_source == "fallback") == bool(section.copy_violations)


def test_describe_names_the_capabilities(backend):
    described = backend.describe()
    assert described["backend"] in backend_names()
    assert set(described) >= {"model", "precision", "supports_json_schema", "supports_prefill", "supports_batching"}


# ---------------------------------------------------------------- registry and options


def test_registry_lists_the_builtins_and_builds_from_config():
    assert {"local", "openai", "echo", "canned"} <= set(backend_names())
    assert isinstance(get_backend(Config(backend="echo")), EchoModel)


def test_unknown_backend_names_the_choices():
    with pytest.raises(ConfigError, match="unknown backend 'nope'; choose one of .*echo"):
        get_backend(Config(backend="nope"))


def test_auto_runs_an_adapter_llama_cpp_cannot_apply_on_transformers(tmp_path, monkeypatch):
    import importlib.util

    from genpage.backends.lora_gguf import unsupported
    from genpage.backends.registry import resolve_backend

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda n, *a: object() if n == "llama_cpp" else real(n, *a))
    plain = {"peft_type": "LORA", "r": 8, "lora_alpha": 16, "target_modules": ["q_proj", "v_proj"]}
    for name, changes in {"plain": {}, "dora": {"use_dora": True}, "head": {"target_modules": ["lm_head"]}}.items():
        (tmp_path / name).mkdir()
        (tmp_path / name / "adapter_config.json").write_text(json.dumps({**plain, **changes}))
        (tmp_path / name / "adapter_model.safetensors").write_bytes(b"")
    assert unsupported(tmp_path / "plain") is None
    assert "not a plain LoRA" in unsupported(tmp_path / "dora")
    assert "other than the attention and MLP projections" in unsupported(tmp_path / "head")
    cpu = {"device": "cpu", "home": tmp_path}
    assert resolve_backend(Config(generator=f"qwen2.5-1.5b-instruct+{tmp_path / 'plain'}", **cpu)) == "llamacpp"
    assert resolve_backend(Config(generator=f"qwen2.5-1.5b-instruct+{tmp_path / 'dora'}", **cpu)) == "local"
    assert resolve_backend(Config(generator=f"qwen2.5-1.5b-instruct+{tmp_path / 'head'}", **cpu)) == "local"


def test_auto_runs_a_packaged_gguf_on_llama_cpp_when_it_is_installed(monkeypatch):
    import importlib.util

    from genpage.backends.registry import resolve_backend

    real = importlib.util.find_spec
    installed = {"llama_cpp": True}

    def find_spec(name: str, *args):
        return (object() if installed[name] else None) if name in installed else real(name, *args)

    monkeypatch.setattr(importlib.util, "find_spec", find_spec)
    cpu = {"device": "cpu"}
    assert Config().backend == "auto"
    assert resolve_backend(Config(**cpu)) == "llamacpp"  # the default generator ships a GGUF
    assert resolve_backend(Config(generator="/models/tiny.gguf", **cpu)) == "llamacpp"
    assert resolve_backend(Config(device="cuda")) == "local"  # a GPU: transformers and accelerate
    assert resolve_backend(Config(generator="/models/my-safetensors-folder", **cpu)) == "local"
    # a tuned writer's adapter runs on the GGUF too (genpage.backends.lora_gguf), but not on a folder's weights
    assert resolve_backend(Config(generator="qwen2.5-1.5b-instruct+house-style", **cpu)) == "llamacpp"
    assert resolve_backend(Config(generator="/models/my-safetensors-folder+/adapters/mine", **cpu)) == "local"
    assert resolve_backend(Config(backend="local", **cpu)) == "local"  # asked for: kept
    assert resolve_backend(Config(precision="fp32", **cpu)) == "local"  # a precision is transformers' setting
    installed["llama_cpp"] = False
    assert resolve_backend(Config(**cpu)) == "local"


def test_a_third_party_backend_registers_like_a_builtin():
    @register_backend("shout-test")
    class Shout(EchoModel):
        name = "shout"

    assert backend_class("shout-test") is Shout
    assert get_backend(Config(backend="shout-test")).name == "shout"


def test_options_forbid_unknown_fields():
    with pytest.raises(ValidationError):
        GenerationOptions(max_tokens=5)
    with pytest.raises(ValidationError):
        GenerationOptions(temperature=-1)


# ---------------------------------------------------------------- the HTTP backend's own behaviour


def test_openai_sends_the_schema_and_options(echo_server):
    model = OpenAICompatModel("echo", base_url=echo_server.url, api_key="sk-test")
    request = _request(["Linen Tea Towel"], seed=3).model_copy(update={"json_schema": {"type": "object"}})
    model.generate(request)
    body = echo_server.app.state.requests[-1]
    assert body["response_format"]["type"] == "json_schema"
    assert body["response_format"]["json_schema"]["schema"] == {"type": "object"}
    assert body["max_tokens"] == 48 and body["seed"] == 3 and body["model"] == "echo"


def _flaky_app(failures: int, status: int):
    from fastapi import FastAPI
    from fastapi.responses import JSONResponse

    app = FastAPI()
    app.state.calls = 0

    @app.post("/v1/chat/completions")
    def answer(body: dict):
        app.state.calls += 1
        if app.state.calls <= failures:
            return JSONResponse({"error": {"message": "overloaded"}}, status_code=status)
        return {"choices": [{"message": {"content": '{"title": "Ok", "blurb": "Fine."}'}, "finish_reason": "stop"}]}

    return app


def test_openai_retries_server_errors_with_backoff():
    with _Server(_flaky_app(failures=2, status=503)) as server:
        model = OpenAICompatModel("m", base_url=server.url, backoff_s=0.01, retries=3)
        assert json.loads(model.generate(_request(["Scarf"])).text)["title"] == "Ok"
        assert server.app.state.calls == 3


def test_openai_does_not_retry_client_errors():
    with _Server(_flaky_app(failures=5, status=401)) as server:
        model = OpenAICompatModel("m", base_url=server.url, backoff_s=0.01)
        with pytest.raises(BackendError, match="answered 401 .*OPENAI_API_KEY"):
            model.generate(_request(["Scarf"]))
        assert server.app.state.calls == 1


def test_openai_gives_up_with_a_clear_message_when_nothing_listens():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    model = OpenAICompatModel("m", base_url=f"http://127.0.0.1:{port}/v1", backoff_s=0.01, retries=1, timeout_s=2)
    with pytest.raises(BackendError, match="gave up after 2 tries; is the server up"):
        model.generate(_request(["Scarf"]))


def test_openai_reads_settings_from_config_and_environment(monkeypatch):
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:9/v1")
    monkeypatch.setenv("OPENAI_MODEL", "env-model")
    model = get_backend(Config(backend="openai"))
    assert model.base_url == "http://127.0.0.1:9/v1" and model.name == "env-model"
    configured = get_backend(Config(backend="openai", openai_base_url="http://h/v1/", openai_model="m"))
    assert configured.base_url == "http://h/v1" and configured.name == "m"


# ---------------------------------------------------------------- the local backend's prefix cache


def _with_examples(products: list[str]) -> GenerationRequest:
    """A request whose start (system message and one example) is shared: what segment-level copy sends."""
    example = Message(role="user", content="Section: trending\nProducts:\n- Enamel Camping Mug (Kitchen)")
    answer = Message(role="assistant", content='{"title": "Mugs for the Road", "blurb": "Tough mugs for trips."}')
    request = _request(products)
    return request.model_copy(update={"messages": [request.messages[0], example, answer, request.messages[1]]})


@pytest.mark.slow
def test_local_prefix_cache_gives_the_same_text_and_is_kept_on_disk(smollm, monkeypatch):
    import torch

    requests = [_with_examples(["Linen Tea Towel", "Wooden Spoon"]), _with_examples(["Garden Trowel"])]
    prefix, _ = smollm.split_prompt(requests[0])
    assert prefix and prefix == smollm.split_prompt(requests[1])[0]  # one shared start
    smollm._prefixes.clear()
    cached = [r.text for r in smollm.generate_batch(requests)]
    size, smollm.prefix_cache_size = smollm.prefix_cache_size, 0
    try:
        assert [r.text for r in smollm.generate_batch(requests)] == cached  # as if the whole prompt ran at once
    finally:
        smollm.prefix_cache_size = size
    saved = smollm._prefix_file(tuple(prefix))
    assert saved is not None and saved.is_file()
    # a new process (an empty in-memory cache) reads it from disk instead of computing it
    smollm._prefixes.clear()
    loads = []
    real_load = torch.load
    monkeypatch.setattr(torch, "load", lambda *a, **k: loads.append(a[0]) or real_load(*a, **k))
    assert [r.text for r in smollm.generate_batch(requests)] == cached
    assert loads == [saved]


@pytest.mark.slow
@pytest.mark.parametrize("name", ["smollm", "smollm_cpp"])
def test_in_process_backends_keep_the_words_to_avoid_out_of_their_answer(name, request):
    import re

    model = request.getfixturevalue(name)
    request = _request(["Linen Tea Towel", "Wooden Spoon", "Enamel Teapot"])
    first = model.generate(request).text
    used = [w for w in re.findall(r"(?<= )[A-Za-z]{4,}\b", first) if w.lower() not in ("with", "that", "this")]
    assert used, first
    word = used[0].lower()
    avoiding = request.model_copy(update={"options": request.options.model_copy(update={"avoid": [word]})})
    again = model.generate_batch([avoiding, request])  # rows with and without bans share a batch
    assert not re.search(rf"\b{word}s?\b", again[0].text, re.I), (word, again[0].text)
    if model.batch_invariant:
        assert again[1].text == first  # the other row is untouched


@pytest.mark.slow
def test_llamacpp_prefix_state_gives_the_same_text_and_is_kept_on_disk(smollm_cpp, monkeypatch):
    import llama_cpp

    requests = [_with_examples(["Linen Tea Towel", "Wooden Spoon"]), _with_examples(["Garden Trowel"])]
    prefix, _ = smollm_cpp.split_prompt(requests[0])
    assert prefix and prefix == smollm_cpp.split_prompt(requests[1])[0]  # one shared start
    saved = smollm_cpp._prefix_file(tuple(prefix))
    assert saved is not None
    saved.unlink(missing_ok=True)
    smollm_cpp.clear_prefixes()
    cached = [r.text for r in smollm_cpp.generate_batch(requests)]  # the prefix decoded once, then saved
    assert saved.is_file()
    # a new process (no prefix in memory) reads its state from disk instead of computing it: the same text
    smollm_cpp.clear_prefixes()
    loads = []
    real_load = llama_cpp.llama_state_seq_load_file
    monkeypatch.setattr(llama_cpp, "llama_state_seq_load_file", lambda *a: loads.append(a[1]) or real_load(*a))
    assert [r.text for r in smollm_cpp.generate_batch(requests)] == cached
    assert loads == [str(saved).encode()]


@pytest.mark.slow
def test_llamacpp_runs_the_registry_gguf_joined_and_checked_once(genpage_home):
    from genpage.embed.weights import lookup, resolve_gguf, sha256_of

    gguf, folder = resolve_gguf("smollm2-135m-instruct", home=genpage_home)
    assert gguf.is_file() and sha256_of([gguf]) == lookup("smollm2-135m-instruct").gguf_sha256
    assert (folder / "tokenizer_config.json").is_file()  # the tokenizer is read from the GGUF once, then saved
    assert resolve_gguf("smollm2-135m-instruct", home=genpage_home) == (gguf, folder)
    assert resolve_gguf(str(gguf)) == (gguf, folder)  # a local .gguf file is used as it is


def test_llamacpp_picks_greedy_or_from_the_top_p_share():
    import numpy as np

    from genpage.backends.llamacpp import _pick

    scores = np.full(5000, -10.0)
    scores[[7, 42, 99]] = [5.0, 4.0, 3.9]
    rng = np.random.default_rng(0)
    assert _pick(scores, GenerationOptions(), rng) == 7
    assert _pick(scores, GenerationOptions(temperature=0.7, top_p=0.01), rng) == 7  # the top token alone
    drawn = {_pick(scores, GenerationOptions(temperature=1.0, top_p=0.95), rng) for _ in range(200)}
    assert drawn <= {7, 42, 99} and len(drawn) > 1
    assert 0 <= _pick(scores, GenerationOptions(temperature=1.0, top_p=1.0), rng) < 5000  # keeps all 1000, no overrun


def test_llamacpp_without_llama_cpp_python_says_what_to_install(monkeypatch, tmp_path):
    import sys

    from genpage.embed.weights import resolve_gguf
    from genpage.errors import ConfigError, ModelNotAvailableError

    monkeypatch.setitem(sys.modules, "llama_cpp", None)  # as if not installed
    with pytest.raises(ConfigError, match=r"genpage\[llamacpp\]"):
        get_backend(Config(home=tmp_path, backend="llamacpp", generator="smollm2-135m-instruct"))
    with pytest.raises(ModelNotAvailableError, match="gguf"):
        resolve_gguf(str(tmp_path))  # a folder is not a GGUF file


def test_banned_phrases_are_spelt_as_titles_spell_them():
    from genpage.backends.chat import spellings

    assert ' "Make a Difference' in spellings("make a difference")  # str.title() alone gives "Make A Difference"
    assert " A Good Cause" in spellings("a good cause") and " good causes" in spellings("good cause")


def test_the_built_in_backends_are_entry_points_and_a_missing_declaration_says_how_to_fix_it(monkeypatch):
    """genpage's own backends are found exactly as a third-party one would be: through the entry-point group."""
    from genpage.backends import registry

    assert {"local", "llamacpp", "openai", "echo", "canned"} <= set(registry._entry_points())
    monkeypatch.setattr(registry, "_entry_points", dict)  # a checkout run without its package metadata
    with pytest.raises(ConfigError, match=r"install genpage \(`pip install -e \.`"):
        registry.backend_class("no-such-backend-anywhere")


# ---------------------------------------------------------------- JSON schema by grammar (local, llamacpp)


def _byte_tokenizer():
    """A real fast tokenizer of one token per byte (and an end token, id 0): grammars tested without a model."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    vocab = {"<eos>": 0, **{c: n + 1 for n, c in enumerate(sorted(pre_tokenizers.ByteLevel.alphabet()))}}
    tokenizer = Tokenizer(models.BPE(vocab=vocab, merges=[]))
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    return PreTrainedTokenizerFast(tokenizer_object=tokenizer, eos_token="<eos>")


@pytest.fixture(scope="module")
def byte_grammars():
    from genpage.backends.grammar import SchemaGrammars

    tokenizer = _byte_tokenizer()
    return SchemaGrammars(tokenizer, len(tokenizer) + 7, tokenizer.eos_token_id)  # logits wider than the vocabulary


def _write(grammars, row, text: str) -> str:
    """Advance a row through `text` one byte token at a time; the text it could not write, if any."""
    for n, token in enumerate(grammars.hf_tokenizer.encode(text, add_special_tokens=False)):
        if not row.allowed()[token]:
            return text[n:]
        row.advance(token)
    return ""


def _next(grammars, row) -> set[str]:
    return {grammars.hf_tokenizer.decode([t]) for t in row.allowed().nonzero()[0]}


def test_the_copy_schema_carries_the_guardrails_length_limits():
    from genpage.copy.generate import COPY_SCHEMA
    from genpage.copy.guardrails import DEFAULT_LIMITS

    properties = COPY_SCHEMA["properties"]
    assert properties["title"]["maxLength"] == DEFAULT_LIMITS.title_chars
    assert properties["blurb"]["maxLength"] == DEFAULT_LIMITS.blurb_chars
    assert set(COPY_SCHEMA["required"]) == set(properties) and COPY_SCHEMA["additionalProperties"] is False


def test_the_copy_grammar_writes_compact_json_and_holds_each_string_to_its_max_length(byte_grammars):
    from genpage.copy.generate import COPY_SCHEMA

    row = byte_grammars.start(COPY_SCHEMA)
    assert _next(byte_grammars, row) == {"{"}
    assert _write(byte_grammars, row, '{"title": "') == ""  # the separators the prompts show, nothing else
    assert _write(byte_grammars, row, "T" * 60) == "T" * 10  # 50 characters, then only the closing quote
    assert _next(byte_grammars, row) == {'"'}
    assert _write(byte_grammars, row, '", "blurb": "' + "B" * 230 + '"}') == "B" * 30 + '"}'  # 200 characters
    row = byte_grammars.start(COPY_SCHEMA)
    assert _write(byte_grammars, row, '{"title": "Te", "blurb') == '", "blurb'  # minLength 3 holds too
    row = byte_grammars.start(COPY_SCHEMA)
    answer = '{"title": "Tea \\"towels\\" ☕", "blurb": "Linen towels for the kitchen."}'
    assert _write(byte_grammars, row, answer) == "" and row.complete
    assert _next(byte_grammars, row) == {"<eos>"}  # complete JSON: only the end of the answer may follow
    assert row.allowed().shape == (byte_grammars.vocab_size,)


def test_the_grammar_starts_after_a_prefill_and_refuses_one_the_schema_does_not_allow(byte_grammars):
    from genpage.copy.generate import COPY_SCHEMA
    from genpage.errors import BackendError

    row = byte_grammars.start(COPY_SCHEMA, prefill='{"title": "')
    assert _write(byte_grammars, row, 'Tea", "blurb": "Ten linen towels."}') == "" and row.complete
    with pytest.raises(BackendError, match="does not start an answer the JSON schema allows"):
        byte_grammars.start(COPY_SCHEMA, prefill='{"name": "')
    with pytest.raises(BackendError, match="cannot be decoded under a grammar"):
        byte_grammars.start({"type": "no-such-type"})


def test_the_schema_comes_before_the_words_to_avoid():
    import numpy as np

    from genpage.backends.grammar import constrain

    scores = np.array([1.0, -np.inf, 3.0, 0.5, 2.0])
    constrain(scores, np.array([False, True, False, True]))  # the last token is past the vocabulary's mask
    assert scores.tolist() == [-np.inf, -np.inf, -np.inf, 0.5, -np.inf]
    banned = np.array([1.0, -np.inf, 3.0, -np.inf])
    constrain(banned, np.array([False, True, False, True]))  # avoid took every allowed token: they come back
    assert np.isfinite(banned[[1, 3]]).all() and not np.isfinite(banned[[0, 2]]).any()


def _valid_copy(text: str, schema: dict) -> dict:
    data = json.loads(text)
    assert set(data) == set(schema["properties"]), text
    for key, rule in schema["properties"].items():
        assert isinstance(data[key], str) and rule["minLength"] <= len(data[key]) <= rule["maxLength"], (key, text)
    return data


_SHELVES = [["Garden Trowel", "Seed Tray", "Watering Can"], ["Birch Plant Labels, Pack of 50", "Jute Twine"],
            ["Clip-On LED Reading Lamp", "Beeswax Pillar Candle"]]  # fmt: skip


@pytest.mark.slow
@pytest.mark.parametrize("name", ["smollm", "smollm_cpp"])
def test_grammar_decoding_with_the_real_small_model_always_validates(name, request):
    """Greedy and sampled, with the copy schema and with limits far tighter than the model's habit: every answer
    that ends within its tokens is JSON that validates, its strings within their lengths."""
    from genpage.copy.generate import COPY_SCHEMA

    model = request.getfixturevalue(name)
    assert model.supports_json_schema and model.describe()["supports_json_schema"]
    tight = {**COPY_SCHEMA, "properties": {"title": {"type": "string", "minLength": 3, "maxLength": 12},
                                           "blurb": {"type": "string", "minLength": 10, "maxLength": 40}}}  # fmt: skip
    requests = [_request(shelf, max_new_tokens=300, **sampling).model_copy(update={"json_schema": schema})
                for schema in (COPY_SCHEMA, tight) for shelf in _SHELVES
                for sampling in ({}, {"temperature": 0.9, "seed": 11})]  # fmt: skip
    results = model.generate_batch(requests)
    for each, result in zip(requests, results, strict=True):
        assert result.finish_reason == "stop", result.text  # 300 tokens hold the 250 characters in any tokens
        _valid_copy(result.text, each.json_schema)
    prefilled = requests[0].model_copy(
        update={"messages": [*requests[0].messages, Message(role="assistant", content='{"title": "')]}
    )
    text = model.generate(prefilled).text  # a prefill and a schema: the grammar starts after the prefill
    assert text.startswith('{"title": "')
    _valid_copy(text, COPY_SCHEMA)

"""The offline model registry: packaged models resolve locally, damaged pieces are refused, missing ones say how
to fix."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from genpage.embed import weights as models
from genpage.errors import ChecksumError, ModelNotAvailableError


def _fake_package(root: Path, name: str, payload: bytes) -> None:
    pkg = root / name
    (pkg / "data").mkdir(parents=True)
    (pkg / "__init__.py").write_text("raise RuntimeError('model packages are never imported')\n")
    (pkg / "data" / "part01.bin").write_bytes(payload[: len(payload) // 2])
    (pkg / "data" / "part02.bin").write_bytes(payload[len(payload) // 2 :])


def _spec(name: str, package: str, sha: str) -> models.ModelSpec:
    return models.ModelSpec(
        name=name, kind="generator", pip=f"pip install {package}==1.0",
        gguf_pieces=(models.GGUFPiece(package, "data/part01.bin"), models.GGUFPiece(package, "data/part02.bin")),
        gguf_sha256=sha,
    )


def test_checksum_mismatch_is_refused_and_nothing_is_cached(tmp_path, monkeypatch):
    _fake_package(tmp_path / "site", "genpage_fake_model", b"not really a gguf file" * 100)
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    monkeypatch.setitem(models.REGISTRY, "fake-model", _spec("fake-model", "genpage_fake_model", "0" * 64))
    home = tmp_path / "home"
    with pytest.raises(ChecksumError, match=r"fake-model.*sha256.*expected 0{64}.*pip install genpage_fake_model"):
        models.resolve("fake-model", home=home)
    assert not (home / "models" / "fake-model").exists()
    assert list((home / "models").iterdir()) == []  # the temporary join was cleaned up too


def test_joined_pieces_are_hashed_in_order(tmp_path, monkeypatch):
    payload = hashlib.sha256(b'a').digest() + hashlib.sha256(b'b').digest()
    _fake_package(tmp_path / "site", "genpage_fake_model2", payload)
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    spec = _spec("fake2", "genpage_fake_model2", hashlib.sha256(payload).hexdigest())
    pieces = models.gguf_pieces(spec)
    assert [p.name for p in pieces] == ["part01.bin", "part02.bin"]
    models.verify_pieces(spec, pieces)  # the right order passes
    with pytest.raises(ChecksumError):
        models.verify_pieces(spec, list(reversed(pieces)))


def test_missing_package_names_the_pip_line(monkeypatch):
    monkeypatch.setitem(models.REGISTRY, "absent", _spec("absent", "genpage_no_such_package", "0" * 64))
    with pytest.raises(ModelNotAvailableError, match=r"pip install genpage_no_such_package==1.0"):
        models.resolve("absent")


def test_unknown_name_lists_the_registry():
    with pytest.raises(ModelNotAvailableError, match="minilm"):
        models.resolve("no-such-model")


def test_local_folder_and_hub_id_pass_through(tmp_path):
    assert models.resolve(str(tmp_path)) == str(tmp_path.resolve())
    assert models.resolve("Qwen/Qwen2.5-0.5B-Instruct") == "Qwen/Qwen2.5-0.5B-Instruct"


def test_packaged_encoder_resolves_to_its_folder():
    path = Path(models.resolve("minilm", kind="encoder"))
    assert (path / "config.json").is_file()
    with pytest.raises(ModelNotAvailableError, match="is of kind 'encoder', not 'generator'"):
        models.resolve("minilm", kind="generator")


@pytest.mark.slow
def test_small_generator_is_converted_once_and_reused(genpage_home):
    first = Path(models.resolve("smollm2-135m-instruct", home=genpage_home))
    assert (first / "model.safetensors").is_file() and (first / "tokenizer.json").is_file()
    stamp = (first / "model.safetensors").stat().st_mtime_ns
    assert Path(models.resolve("smollm2-135m-instruct", home=genpage_home)) == first
    assert (first / "model.safetensors").stat().st_mtime_ns == stamp

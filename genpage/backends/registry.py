"""Backends by name: the `genpage.backends` entry-point group, plus classes registered at run time.

Every backend, built-in or not, is found the same way. A package declares its class in its `pyproject.toml`:

    [project.entry-points."genpage.backends"]
    my-server = "my_package.backend:MyServer"

and `Config(backend="my-server")` builds it with `MyServer.from_config(config)` when the class defines that
classmethod, else `MyServer()`. genpage's own backends (local, llamacpp, openai, echo, canned) are declared in
genpage's `pyproject.toml` exactly so. An entry point is imported only when its backend is asked for.
`register_backend("name")` registers a class directly (tests, notebooks), and wins over an entry point.

`backend = "auto"` (the default) is not a class: `resolve_backend` picks llama.cpp for a GGUF generator on a CPU
when llama-cpp-python is installed (the default generator then loads in ~1.5 GB and seconds, from the GGUF file as
shipped; a tuned writer "base+adapter" applies its LoRA at run time), else the transformers backend, "local" (a GPU,
a folder or hub id).
"""

from __future__ import annotations

import importlib.util
import logging
from collections.abc import Callable
from importlib.metadata import EntryPoint, entry_points
from typing import TYPE_CHECKING, TypeVar

from genpage.backends.base import TextModel
from genpage.errors import ConfigError

if TYPE_CHECKING:
    from genpage.config import Config

logger = logging.getLogger(__name__)

ENTRY_POINT_GROUP = "genpage.backends"
_REGISTERED: dict[str, type[TextModel]] = {}
T = TypeVar("T", bound=type[TextModel])


def register_backend(name: str) -> Callable[[T], T]:
    """Class decorator: make a TextModel subclass available as `Config(backend=name)` in this process."""

    def decorate(cls: T) -> T:
        if name in _REGISTERED and _REGISTERED[name] is not cls:
            logger.warning("backend %r re-registered: %s replaces %s", name, cls.__name__, _REGISTERED[name].__name__)
        cls.backend_name = name
        _REGISTERED[name] = cls
        return cls

    return decorate


def _entry_points() -> dict[str, EntryPoint]:
    return {ep.name: ep for ep in entry_points(group=ENTRY_POINT_GROUP)}


def backend_names() -> list[str]:
    """Every backend this process can build: declared entry points and registered classes."""
    return sorted({*_entry_points(), *_REGISTERED})


def backend_class(name: str) -> type[TextModel]:
    """The class of backend `name`, importing its module if it is an entry point not loaded yet."""
    if name in _REGISTERED:
        return _REGISTERED[name]
    declared = _entry_points()
    entry = declared.get(name)
    if entry is None and not declared:  # not even the built-ins: genpage's own metadata is missing or stale
        raise ConfigError(f"no text backends are declared (looking for {name!r}): genpage's built-in backends are "
                          "entry points of its package metadata, so install genpage (`pip install -e .` in a "
                          "checkout, again after an update) rather than running it from the source folder")
    if entry is None:
        raise ConfigError(f"unknown backend {name!r}; choose one of {', '.join(backend_names())} (setting `backend`)")
    cls = entry.load()
    if not (isinstance(cls, type) and issubclass(cls, TextModel)):
        raise ConfigError(f"backend {name!r} ({entry.value}) is not a genpage TextModel class")
    return register_backend(name)(cls)


def resolve_backend(config: Config) -> str:
    """The backend `config.backend` names; for "auto", llamacpp where it can run the generator as well as local
    does (a registry model with a GGUF, or a .gguf path, with or without a LoRA adapter, precision "auto", on a CPU,
    llama-cpp-python installed), else local."""
    if config.backend != "auto":
        return config.backend
    from genpage.embed.weights import lookup, pick_device, split_adapter

    base, adapter = split_adapter(config.generator)
    spec = lookup(base)
    gguf = bool(spec is not None and spec.gguf_pieces) or base.endswith(".gguf")
    precision = config.precision != "auto"  # precision: transformers' setting
    if not gguf or precision or importlib.util.find_spec("llama_cpp") is None:
        return "local"
    if adapter is not None and not _lora_runs_on_llamacpp(base, adapter, config):
        return "local"
    return "llamacpp" if pick_device(config.device) == "cpu" else "local"


def _lora_runs_on_llamacpp(base: str, adapter: str, config: Config) -> bool:
    """Whether a tuned writer's adapter converts for llama.cpp (genpage.backends.lora_gguf: a plain LoRA on the
    projections); a missing one is reported by the backend that loads it."""
    from genpage.backends.lora_gguf import unsupported
    from genpage.embed.weights import find_adapter
    from genpage.errors import ModelNotAvailableError

    try:
        folder = find_adapter(base, adapter, home=config.home)
    except ModelNotAvailableError:
        return True
    return unsupported(folder) is None


def get_backend(config: Config) -> TextModel:
    """Build the backend named by `config.backend` (`resolve_backend`), configured from the rest of `config`."""
    cls = backend_class(resolve_backend(config))
    factory = getattr(cls, "from_config", None)
    return factory(config) if factory is not None else cls()

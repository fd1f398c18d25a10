"""Text-model backends: the contract (`TextModel`), the registry and the built-ins (local, llamacpp, openai, echo,
canned)."""

from __future__ import annotations

from genpage.backends.base import (
    GenerationOptions,
    GenerationRequest,
    GenerationResult,
    Message,
    TextModel,
    backend_class,
    backend_names,
    get_backend,
    register_backend,
)

__all__ = [
    "GenerationOptions",
    "GenerationRequest",
    "GenerationResult",
    "Message",
    "TextModel",
    "backend_class",
    "backend_names",
    "get_backend",
    "register_backend",
]

"""Text-model backends: the contract (`TextModel`), the registry that finds them by name, and the built-ins
(local, llamacpp, openai, echo, canned), each declared as an entry point like a third-party backend."""

from __future__ import annotations

from genpage.backends.base import GenerationOptions, GenerationRequest, GenerationResult, Message, TextModel
from genpage.backends.registry import backend_class, backend_names, get_backend, register_backend

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

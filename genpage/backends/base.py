"""The text-model contract every backend implements. It knows nothing of the implementations.

A backend is one class with one method to implement, `generate_batch(requests) -> results`. What it can do is
said by class attributes (`supports_json_schema`, `supports_prefill`, `supports_batching`), so callers choose a
strategy without type checks. `genpage.backends.registry` finds backends by name.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

Role = Literal["system", "user", "assistant"]


class Message(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    role: Role
    content: str


class GenerationOptions(BaseModel):
    """Per-request decoding options. Unknown options are an error, not silently ignored."""

    model_config = ConfigDict(extra="forbid")

    max_new_tokens: int = Field(default=64, ge=1, le=4096)
    temperature: float = Field(default=0.0, ge=0.0, le=2.0)  # 0 means greedy
    top_p: float = Field(default=1.0, gt=0.0, le=1.0)
    repetition_penalty: float = Field(default=1.1, ge=1.0, le=2.0)
    seed: int | None = None
    stop: list[str] = Field(default_factory=list)
    # Words the answer must not contain (any case, singular or plural). A backend that can constrain decoding
    # enforces it (local: banned token sequences); the others ignore it, and the caller's checks still apply.
    avoid: list[str] = Field(default_factory=list)


class GenerationRequest(BaseModel):
    """Chat messages plus options. When the last message is from the assistant, a backend that
    `supports_prefill` continues it, and the result's text starts with that message's content."""

    model_config = ConfigDict(extra="forbid")

    messages: list[Message] = Field(min_length=1)
    options: GenerationOptions = Field(default_factory=GenerationOptions)
    json_schema: dict[str, Any] | None = None

    @property
    def prefill(self) -> str:
        last = self.messages[-1]
        return last.content if last.role == "assistant" else ""


class GenerationResult(BaseModel):
    text: str
    tokens_generated: int = 0
    prompt_tokens: int = 0
    seconds: float = 0.0
    finish_reason: str = "stop"  # "stop" or "length"


class TextModel(ABC):
    """A model that turns chat requests into text, many at a time."""

    name: str = "text-model"  # the model's name as recorded in copy_source and the copy cache key
    backend_name: str = ""  # the registry name, set when the registry loads the class
    supports_json_schema: bool = False  # honours GenerationRequest.json_schema (constrained output)
    supports_prefill: bool = False  # continues a trailing assistant message
    supports_batching: bool = False  # runs a list of requests faster than one at a time
    supports_sampling: bool = True  # temperature > 0 gives varied answers (deterministic test models: False)
    # a request's greedy answer does not depend on the other requests of its batch (int8 activations quantized
    # per batch, or llama.cpp's kernels chosen by the batch's size, make it depend a little: False)
    batch_invariant: bool = True
    precision: str = "n/a"

    @abstractmethod
    def generate_batch(self, requests: list[GenerationRequest]) -> list[GenerationResult]:
        """One result per request, in order. Raises BackendError when the model cannot answer."""

    @property
    def model_name(self) -> str:
        return self.name

    def generate(self, request: GenerationRequest) -> GenerationResult:
        return self.generate_batch([request])[0]

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release resources (threads, connections, memory). Safe to call twice."""

    def describe(self) -> dict[str, Any]:
        return {
            "backend": self.backend_name,
            "model": self.name,
            "precision": self.precision,
            "supports_json_schema": self.supports_json_schema,
            "supports_prefill": self.supports_prefill,
            "supports_batching": self.supports_batching,
            "supports_sampling": self.supports_sampling,
            "batch_invariant": self.batch_invariant,
        }

"""A backend for any OpenAI-compatible server (`POST {base_url}/chat/completions`): OpenAI itself, vLLM,
llama.cpp's server, Ollama, LM Studio, or `genpage.backends.server`.

Settings come from Config (`openai_base_url`, `openai_api_key`, `openai_model`, which also read
GENPAGE_OPENAI_* variables), then OPENAI_BASE_URL / OPENAI_API_KEY / OPENAI_MODEL. Timeouts, connection errors,
429 and 5xx answers are retried with exponential backoff; other errors fail at once with the server's message.
A request's JSON schema is sent as `response_format` (structured output). Batches run concurrently.
"""

from __future__ import annotations

import logging
import os
import time
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

import httpx

from genpage.backends.base import GenerationRequest, GenerationResult, TextModel
from genpage.errors import BackendError, ConfigError

if TYPE_CHECKING:
    from genpage.config import Config

logger = logging.getLogger(__name__)

DEFAULT_BASE_URL = "https://api.openai.com/v1"
_RETRY_STATUS = {408, 409, 429, 500, 502, 503, 504}


class RetryableBackendError(BackendError):
    retryable = True


class OpenAICompatModel(TextModel):
    """`OpenAICompatModel(model, base_url=..., api_key=...)`: chat completions over HTTP."""

    backend_name = "openai"

    supports_json_schema = True
    supports_batching = True

    def __init__(
        self,
        model: str,
        *,
        base_url: str = DEFAULT_BASE_URL,
        api_key: str | None = None,
        timeout_s: float = 60.0,
        retries: int = 3,
        backoff_s: float = 0.5,
        concurrency: int = 4,
        send_schema: bool = True,
    ) -> None:
        if not model:
            raise ConfigError("the openai backend needs a model name: set `openai_model` or OPENAI_MODEL")
        self.name = model
        self.base_url = base_url.rstrip("/")
        self.retries = retries
        self.backoff_s = backoff_s
        self.concurrency = max(1, concurrency)
        self.send_schema = send_schema
        headers = {"Content-Type": "application/json"}
        if api_key:
            headers["Authorization"] = f"Bearer {api_key}"
        self._client = httpx.Client(base_url=self.base_url, headers=headers, timeout=httpx.Timeout(timeout_s))

    @classmethod
    def from_config(cls, config: Config) -> OpenAICompatModel:
        base_url = config.openai_base_url or os.environ.get("OPENAI_BASE_URL") or DEFAULT_BASE_URL
        api_key = config.openai_api_key or os.environ.get("OPENAI_API_KEY")
        model = config.openai_model or os.environ.get("OPENAI_MODEL") or config.generator
        return cls(model, base_url=base_url, api_key=api_key)

    def close(self) -> None:
        self._client.close()

    def payload(self, request: GenerationRequest) -> dict[str, Any]:
        options = request.options
        body: dict[str, Any] = {
            "model": self.name,
            "messages": [m.model_dump() for m in request.messages],
            "max_tokens": options.max_new_tokens,
            "temperature": options.temperature,
            "top_p": options.top_p,
        }
        if options.repetition_penalty != 1.0:
            body["frequency_penalty"] = round(min(2.0, (options.repetition_penalty - 1.0) * 2), 3)
        if options.seed is not None:
            body["seed"] = options.seed
        if options.stop:
            body["stop"] = options.stop[:4]
        if request.json_schema is not None and self.send_schema:
            body["response_format"] = {
                "type": "json_schema",
                "json_schema": {"name": "section_copy", "schema": request.json_schema, "strict": True},
            }
        return body

    def _post_once(self, body: dict[str, Any]) -> dict[str, Any]:
        try:
            response = self._client.post("/chat/completions", json=body)
        except (httpx.TimeoutException, httpx.TransportError) as exc:
            raise RetryableBackendError(f"{self.base_url}: {type(exc).__name__}: {exc}") from exc
        if response.status_code in _RETRY_STATUS:
            raise RetryableBackendError(f"{self.base_url} answered {response.status_code}: {response.text[:200]}")
        if response.status_code >= 400:
            hint = " (check openai_api_key / OPENAI_API_KEY)" if response.status_code in (401, 403) else ""
            raise BackendError(f"{self.base_url} answered {response.status_code}{hint}: {response.text[:300]}")
        try:
            return dict(response.json())
        except ValueError as exc:
            raise BackendError(f"{self.base_url} answered with non-JSON: {response.text[:200]}") from exc

    def _complete(self, request: GenerationRequest) -> GenerationResult:
        body = self.payload(request)
        start = time.perf_counter()
        for attempt in range(self.retries + 1):
            try:
                data = self._post_once(body)
                break
            except RetryableBackendError as exc:
                if attempt == self.retries:
                    raise BackendError(f"{exc} (gave up after {self.retries + 1} tries; is the server up?)") from exc
                delay = self.backoff_s * 2**attempt
                logger.warning("%s; retrying in %.1fs", exc, delay)
                time.sleep(delay)
        try:
            choice = data["choices"][0]
            text = choice["message"]["content"] or ""
        except (KeyError, IndexError, TypeError) as exc:
            raise BackendError(f"{self.base_url} answered without choices[0].message.content: {data!r:.200}") from exc
        usage = data.get("usage") or {}
        return GenerationResult(
            text=text,
            tokens_generated=int(usage.get("completion_tokens") or len(text.split())),
            prompt_tokens=int(usage.get("prompt_tokens") or 0),
            seconds=time.perf_counter() - start,
            finish_reason="length" if choice.get("finish_reason") == "length" else "stop",
        )

    def generate_batch(self, requests: list[GenerationRequest]) -> list[GenerationResult]:
        if len(requests) <= 1 or self.concurrency == 1:
            return [self._complete(r) for r in requests]
        with ThreadPoolExecutor(max_workers=min(self.concurrency, len(requests))) as pool:
            return list(pool.map(self._complete, requests))

"""Serve any genpage TextModel as a minimal OpenAI-compatible `/v1/chat/completions` endpoint.

Used by the tests (the openai backend talks to the echo model through it) and handy for sharing one loaded local
model between processes: `uvicorn.run(make_app(LocalModel("qwen2.5-0.5b-instruct")), port=8000)`.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from genpage.backends.base import GenerationOptions, GenerationRequest, Message, TextModel

logger = logging.getLogger(__name__)


def make_app(model: TextModel) -> Any:
    """A FastAPI app answering chat completions with `model` (one request per call, guarded by a lock)."""
    from fastapi import FastAPI, HTTPException

    app = FastAPI(title=f"genpage {model.name}")
    lock = threading.Lock()
    app.state.requests = []  # the bodies received, for tests

    @app.post("/v1/chat/completions")
    def chat_completions(body: dict[str, Any]) -> dict[str, Any]:
        app.state.requests.append(body)
        try:
            messages = [Message(role=m["role"], content=m["content"]) for m in body["messages"]]
        except (KeyError, TypeError, ValueError) as exc:
            raise HTTPException(status_code=400, detail=f"bad messages: {exc}") from exc
        options = GenerationOptions(
            max_new_tokens=int(body.get("max_tokens") or 64),
            temperature=float(body.get("temperature") or 0.0),
            stop=list(body.get("stop") or []),
        )
        schema = ((body.get("response_format") or {}).get("json_schema") or {}).get("schema")
        request = GenerationRequest(messages=messages, options=options, json_schema=schema)
        with lock:
            result = model.generate(request)
        return {
            "id": f"chatcmpl-{time.time_ns()}",
            "object": "chat.completion",
            "model": model.name,
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": result.text},
                    "finish_reason": result.finish_reason,
                }
            ],
            "usage": {"prompt_tokens": result.prompt_tokens, "completion_tokens": result.tokens_generated},
        }

    return app

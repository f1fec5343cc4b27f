"""A stand-in for OpenAI's API on 127.0.0.1, for tests: records requests, can be told to fail.

It speaks the wire shapes of the installed ``openai`` package: ``POST /v1/chat/completions``
answers a ``ChatCompletion`` (id, object "chat.completion", created, model, choices[{index,
message{role, content, refusal, annotations}, logprobs, finish_reason}], usage), and
``GET /v1/models[/{id}]`` a ``Model`` list or a ``Model``. Errors use OpenAI's body,
``{"error": {"message", "type", "param", "code"}}``.

    with OpenAIStandin(reply='{"reply": "Hi!", "confidence": 0.9}') as api:
        client = AsyncOpenAI(api_key="sk-test", base_url=api.base_url)
        api.fail_next(500)       # the next request gets a 500
        api.requests             # what the client sent
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

Delivery = str | Callable[[dict[str, Any]], str]

DEFAULT_REPLY = json.dumps(
    {"reply": "Hi there! Thanks for reaching out. How can I help?", "confidence": 0.9}
)

_ERRORS: dict[int, dict[str, Any]] = {
    429: {
        "message": "Rate limit reached for requests per min (RPM): Limit 3, Used 3, "
        "Requested 1. Please try again in 20s.",
        "type": "requests",
        "param": None,
        "code": "rate_limit_exceeded",
    },
    500: {
        "message": "The server had an error while processing your request. Sorry about that!",
        "type": "server_error",
        "param": None,
        "code": None,
    },
    503: {
        "message": "The engine is currently overloaded, please try again later.",
        "type": "server_error",
        "param": None,
        "code": None,
    },
}


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    path: str
    headers: dict[str, str]  # names lower-cased
    body: Any  # parsed JSON, or None


@dataclass
class _Failure:
    status: int
    times: int
    retry_after_ms: int | None


class OpenAIStandin:
    """A local OpenAI API. Use as a context manager, or ``start()`` / ``stop()``.

    Args:
        reply: the assistant message content, or a function of the request body returning it.
        api_key: when set, requests without ``Authorization: Bearer <api_key>`` get a 401.
    """

    def __init__(self, *, reply: Delivery = DEFAULT_REPLY, api_key: str | None = None) -> None:
        self.reply = reply
        self.api_key = api_key
        self._requests: list[RecordedRequest] = []
        self._failures: list[_Failure] = []
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        if self._server is None:
            raise RuntimeError("the stand-in is not running")
        return f"http://127.0.0.1:{self._server.server_address[1]}/v1"

    @property
    def requests(self) -> list[RecordedRequest]:
        with self._lock:
            return list(self._requests)

    def completions(self) -> list[dict[str, Any]]:
        """The JSON bodies of the chat-completion requests received so far."""
        return [r.body for r in self.requests if r.path == "/v1/chat/completions"]

    def fail_next(self, status: int, times: int = 1, *, retry_after_ms: int | None = 10) -> None:
        """The next ``times`` requests get ``status`` with OpenAI's error body for it."""
        with self._lock:
            self._failures.append(_Failure(status, times, retry_after_ms))

    def recover(self) -> None:
        """Forget the failures still queued: answer normally from now on."""
        with self._lock:
            self._failures.clear()

    def start(self) -> OpenAIStandin:
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join()
            self._thread = None

    def __enter__(self) -> OpenAIStandin:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def _record(self, request: RecordedRequest) -> _Failure | None:
        with self._lock:
            self._requests.append(request)
            if not self._failures:
                return None
            failure = self._failures[0]
            failure.times -= 1
            if failure.times <= 0:
                self._failures.pop(0)
            return failure

    def _respond(self, request: RecordedRequest) -> tuple[int, dict[str, str], Any]:
        failure = self._record(request)
        if failure is not None:
            headers = {}
            if failure.retry_after_ms is not None:
                headers["retry-after-ms"] = str(failure.retry_after_ms)
            error = _ERRORS.get(
                failure.status,
                {
                    "message": "Injected failure",
                    "type": "server_error",
                    "param": None,
                    "code": None,
                },
            )
            return failure.status, headers, {"error": error}
        if self.api_key is not None and request.headers.get("authorization") != (
            f"Bearer {self.api_key}"
        ):
            return 401, {}, _error("Incorrect API key provided.", "invalid_api_key")
        if request.method == "GET" and request.path == "/v1/models":
            return 200, {}, {"object": "list", "data": [_model("gpt-4o-mini")]}
        if request.method == "GET" and request.path.startswith("/v1/models/"):
            return 200, {}, _model(request.path.removeprefix("/v1/models/"))
        if request.method == "POST" and request.path == "/v1/chat/completions":
            return self._completion(request.body)
        return 404, {}, _error(f"Invalid URL ({request.method} {request.path})", None)

    def _completion(self, body: Any) -> tuple[int, dict[str, str], Any]:
        if not isinstance(body, dict):
            return 400, {}, _error("We could not parse the JSON body of your request.", None)
        if not body.get("model"):
            return 400, {}, _error("you must provide a model parameter", None)
        messages = body.get("messages")
        if not isinstance(messages, list) or not messages:
            return 400, {}, _error("'messages' is a required property", None, param="messages")
        content = self.reply(body) if callable(self.reply) else self.reply
        prompt_tokens = sum(len(str(m.get("content", "")).split()) for m in messages)
        completion_tokens = len(content.split())
        return (
            200,
            {},
            {
                "id": f"chatcmpl-{uuid.uuid4().hex[:29]}",
                "object": "chat.completion",
                "created": int(time.time()),
                "model": body["model"],
                "choices": [
                    {
                        "index": 0,
                        "message": {
                            "role": "assistant",
                            "content": content,
                            "refusal": None,
                            "annotations": [],
                        },
                        "logprobs": None,
                        "finish_reason": "stop",
                    }
                ],
                "usage": {
                    "prompt_tokens": prompt_tokens,
                    "completion_tokens": completion_tokens,
                    "total_tokens": prompt_tokens + completion_tokens,
                    "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
                    "completion_tokens_details": {
                        "reasoning_tokens": 0,
                        "audio_tokens": 0,
                        "accepted_prediction_tokens": 0,
                        "rejected_prediction_tokens": 0,
                    },
                },
                "service_tier": "default",
                "system_fingerprint": "fp_standin",
            },
        )


def _error(message: str, code: str | None, *, param: str | None = None) -> dict[str, Any]:
    return {
        "error": {"message": message, "type": "invalid_request_error", "param": param, "code": code}
    }


def _model(model_id: str) -> dict[str, Any]:
    return {"id": model_id, "object": "model", "created": 1721172741, "owned_by": "system"}


def _handler_for(standin: OpenAIStandin) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            self._handle()

        def do_POST(self) -> None:
            self._handle()

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def _handle(self) -> None:
            length = int(self.headers.get("content-length") or 0)
            raw = self.rfile.read(length) if length else b""
            try:
                body = json.loads(raw) if raw else None
            except ValueError:
                body = raw.decode("utf-8", "replace")
            request = RecordedRequest(
                method=self.command,
                path=self.path.split("?", 1)[0],
                headers={k.lower(): v for k, v in self.headers.items()},
                body=body,
            )
            status, headers, payload = standin._respond(request)
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(data)))
            self.send_header("x-request-id", f"req_{uuid.uuid4().hex}")
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)

    return Handler

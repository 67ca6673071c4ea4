"""The HTTP API: the ``/generate`` route and the probes, their models, and the 422 answer.

Plain FastAPI: a pydantic body model validated by FastAPI, the context injected with
``Depends``, the OpenAPI document generated from the routes (``scripts/export-openapi``).
``serve_generation`` is the route's work after validation; the opt-in fast path
(``fast_path.py``) calls the same function, so both paths answer alike.
"""

from __future__ import annotations

import asyncio
import email.message
import re
import secrets
from contextlib import nullcontext
from datetime import UTC, datetime
from typing import Literal

from fastapi import APIRouter, Depends, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from opentelemetry import trace
from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr, field_validator

from .audio import encode_wav
from .batching import GenerationError, QueueFullError, WorkerUnavailableError
from .context import Service, ServiceContext
from .health import utc_now
from .logging_setup import security_log
from .tracing import GENERATE_SPAN

GENERATE_PATH = "/generate"
MAX_PROMPT_CHARS = 500
MIN_DURATION_S = 0.1
MAX_DURATION_S = 30.0
_CONTROL_CHARS = re.compile(r"[\x00-\x08\x0b-\x1f]")  # C0 controls except tab and newline


class GenerateRequest(BaseModel):
    """Body of ``POST /generate``. Strict: no coercion from strings, no unknown fields."""

    model_config = ConfigDict(extra="forbid")

    prompt: StrictStr = Field(min_length=1, max_length=MAX_PROMPT_CHARS)
    duration_seconds: float = Field(ge=MIN_DURATION_S, le=MAX_DURATION_S, strict=True, allow_inf_nan=False)
    seed: StrictInt | None = Field(default=None, ge=0, le=2**32 - 1)

    @field_validator("prompt")
    @classmethod
    def _printable(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("prompt must contain non-whitespace characters")
        if _CONTROL_CHARS.search(value):
            raise ValueError("prompt must not contain control characters")
        return value


class InputProblem(BaseModel):
    loc: list[str | int]
    msg: str
    type: str


class InvalidInput(BaseModel):
    """The 422 body: where and why, never the input itself (it may be huge or hostile)."""

    error: Literal["validation_error"]
    detail: list[InputProblem]


async def invalid_input(request: Request, exc: RequestValidationError) -> JSONResponse:
    """The app's handler for every rejected request body, with a security log line."""
    errors = [{"loc": list(e.get("loc", ())), "msg": e.get("msg", ""), "type": e.get("type", "")} for e in exc.errors()]
    security_log().warning(
        "rejected invalid input",
        extra={
            "event": "invalid_input",
            "path": request.url.path,
            "http_method": request.method,
            "client_ip": request.client.host if request.client else None,
            "errors": [f"{'.'.join(map(str, e['loc']))}: {e['type']}" for e in errors][:10],
        },
    )
    return JSONResponse({"error": "validation_error", "detail": errors}, status_code=422)


def is_json(content_type: str | None) -> bool:
    """FastAPI's rule for a JSON body, with no content type counted as JSON (the route is not strict)."""
    if not content_type:
        return True
    message = email.message.Message()
    message["content-type"] = content_type
    subtype = message.get_content_subtype()
    return message.get_content_maintype() == "application" and (subtype == "json" or subtype.endswith("+json"))


async def json_body(request: Request) -> None:
    """FastAPI hands any other body to the model as bytes, which it rejects as "not a dictionary";
    this says what is actually wrong. Dependencies run before the body is validated."""
    if not is_json(request.headers.get("content-type")):
        raise RequestValidationError([{"loc": ("body",), "msg": "Body must be JSON (application/json)", "type": "content_type"}])


def _error(status: int, error: str, detail: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"error": error, "detail": detail}, status_code=status, headers=headers)


def _expire(future: asyncio.Future[tuple[memoryview, int]]) -> None:
    """The request timeout: the request answers 503, and the worker skips its job."""
    if not future.done():
        future.set_exception(TimeoutError())


async def serve_generation(svc: ServiceContext, body: GenerateRequest) -> Response:
    """Audio for a validated request, or the JSON error that says why not; raises only on a bug."""
    faults = svc.faults
    if faults is not None:
        await faults.apply_latency()
        if faults.should_error():
            return _error(500, "injected_error", "fault drill: injected HTTP 500")
    ready, reason = svc.health.readiness()
    model = svc.state.model
    if not ready or model is None:
        return _error(503, "not_ready", reason, {"Retry-After": "1"})
    seed = body.seed if body.seed is not None else secrets.randbelow(2**32)
    num_samples = max(1, round(body.duration_seconds * model.sample_rate))
    tracer = svc.tracing.tracer
    # Only inside a sampled request: an unsampled one creates no span objects (tracing.py).
    traced = tracer is not None and trace.get_current_span().is_recording()
    span_cm = tracer.start_as_current_span(GENERATE_SPAN) if traced else nullcontext()
    with span_cm as span:
        if span is not None:
            span.set_attributes(
                {
                    "prompt.length": len(body.prompt),
                    "audio.duration": body.duration_seconds,
                    "audio.generated_samples": num_samples,
                    "model.name": model.name,
                }
            )
        try:
            future = svc.worker.submit(
                body.prompt,
                model.encode(body.prompt),
                num_samples,
                seed,
                parent_span=span,
                inject_failure=faults is not None and faults.should_fail_generation(),
            )
            # A plain timer, not asyncio.timeout, which also cancels and uncancels the task:
            # 0.6 instead of 3.8 us per request on uvloop. An expired job's future is done,
            # so the worker skips it.
            timeout_s = svc.settings.request_timeout_s
            timer = asyncio.get_running_loop().call_later(timeout_s, _expire, future)
            try:
                pcm, batch_size = await future
            finally:
                timer.cancel()
        except QueueFullError as exc:
            return _error(503, "overloaded", str(exc), {"Retry-After": "1"})
        except WorkerUnavailableError as exc:
            return _error(503, "not_ready", str(exc), {"Retry-After": "1"})
        except GenerationError as exc:
            if span is not None:
                span.set_attribute("error", True)
            return _error(500, "generation_failed", str(exc))
        except TimeoutError:
            return _error(503, "timeout", f"generation took longer than {timeout_s}s")
        if span is not None:
            span.set_attribute("batch.size", batch_size)
    return Response(
        encode_wav(pcm, model.sample_rate),
        media_type="audio/wav",
        headers={"X-Seed": str(seed), "X-Sample-Rate": str(model.sample_rate), "X-Model": model.name},
    )


# Not strict about the content type: a body sent without one is read as JSON, as the service
# has always done; json_body rejects every content type that is not JSON.
generation = APIRouter(strict_content_type=False)


@generation.post(
    GENERATE_PATH,
    response_class=Response,
    responses={
        200: {"content": {"audio/wav": {}}},
        422: {"model": InvalidInput, "description": "Invalid input: where and why, never the input itself"},
    },
    dependencies=[Depends(json_body)],
)
async def generate(body: GenerateRequest, svc: Service) -> Response:
    return await serve_generation(svc, body)


probes = APIRouter()


@probes.get("/health")
async def health(svc: Service) -> JSONResponse:
    dead = svc.health.worker_dead()
    return JSONResponse(
        {"status": "unhealthy" if dead else "healthy", "timestamp": utc_now(), "uptime_seconds": svc.health.uptime()},
        status_code=503 if dead else 200,
    )


@probes.get("/health/detailed")
async def health_detailed(svc: Service) -> JSONResponse:
    report = svc.health.detailed()
    return JSONResponse(report, status_code=503 if report["status"] == "unhealthy" else 200)


@probes.get("/ready")
async def ready(svc: Service) -> JSONResponse:
    ok, reason = svc.health.readiness()
    if ok and svc.state.model is not None:
        return JSONResponse({"status": "ready", "model": svc.state.model.name})
    return JSONResponse({"status": "not ready", "reason": reason}, status_code=503)


@probes.get("/live")
async def live() -> JSONResponse:
    return JSONResponse({"status": "alive", "timestamp": datetime.now(UTC).isoformat().replace("+00:00", "Z")})

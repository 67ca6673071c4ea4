"""The FastAPI application: routes, wiring of model, batching, metrics, logs, traces and faults.

``create_app`` builds everything from a :class:`Settings` and owns nothing global, so tests can
build several apps in one process (with an in-memory span exporter, or with model loading
deferred to observe ``/ready`` before the model is there).
"""

from __future__ import annotations

import asyncio
import logging
import re
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, nullcontext
from dataclasses import dataclass
from datetime import UTC, datetime

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from opentelemetry import trace
from opentelemetry.sdk.trace.export import SpanExporter
from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr, ValidationError, field_validator
from starlette.types import Receive, Scope, Send

from . import __version__
from .audio import encode_wav
from .batching import BatchWorker, GenerationError, QueueFullError, WorkerUnavailableError
from .config import Settings
from .faults import FaultInjector, Unauthorized, add_routes, unauthorized_response
from .gpu import NvmlReader
from .health import HealthChecker, utc_now
from .logging_setup import security_log
from .metrics import ServiceMetrics
from .middleware import ObservabilityMiddleware
from .models import ModelState, start_loading
from .tracing import GENERATE_SPAN, Tracing, setup_tracing

log = logging.getLogger(__name__)

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


@dataclass
class ServiceContext:
    """Everything the routes need; stored on ``app.state.svc``."""

    settings: Settings
    metrics: ServiceMetrics | None
    nvml: NvmlReader
    state: ModelState
    worker: BatchWorker
    tracing: Tracing
    health: HealthChecker
    faults: FaultInjector | None

    def load_model(self) -> None:
        start_loading(
            self.state, self.settings.model_path, self.settings.device, self.metrics, self.settings.effective_torch_threads
        )


_BODY_SCHEMA = GenerateRequest.model_json_schema()
_INVALID_INPUT_RESPONSE = {
    "description": "Invalid input: where and why, never the input itself",
    "content": {"application/json": {"schema": {
        "type": "object",
        "required": ["error", "detail"],
        "properties": {
            "error": {"const": "validation_error"},
            "detail": {"type": "array", "items": {"type": "object", "properties": {
                "loc": {"type": "array", "items": {"anyOf": [{"type": "string"}, {"type": "integer"}]}},
                "msg": {"type": "string"},
                "type": {"type": "string"},
            }}},
        },
    }}},
}


def _is_json(content_type: str | None) -> bool:
    """FastAPI's rule for a JSON body: no content type, application/json or application/*+json."""
    if content_type is None:
        return True
    media = content_type.split(";", 1)[0].strip().lower()
    return media == "application/json" or (media.startswith("application/") and media.endswith("+json"))


async def _generate_request(request: Request) -> GenerateRequest:
    """The validated body of ``POST /generate``.

    Parsed and validated in one step by pydantic's JSON parser, not by FastAPI's body
    parameter (``json.loads``, a content-type parse through ``email.message``, then
    validation of the Python objects): same decisions on every input the tests send, 25-50 us
    less event-loop CPU per request (bench/results/service.md). Errors go to the same 422
    handler, located under ``body`` as FastAPI locates them.
    """
    if not _is_json(request.headers.get("content-type")):
        raise RequestValidationError(
            [{"loc": ("body",), "msg": "Body must be JSON (application/json)", "type": "content_type"}]
        )
    try:
        return GenerateRequest.model_validate_json(await request.body())
    except ValidationError as exc:
        raise RequestValidationError(
            [{**e, "loc": ("body", *e["loc"])} for e in exc.errors(include_url=False, include_input=False)]
        ) from None


def _expire(future: asyncio.Future[tuple[memoryview, int]]) -> None:
    """The request timeout: the request answers 503, and the worker skips its job."""
    if not future.done():
        future.set_exception(TimeoutError())


def _error(status: int, error: str, detail: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"error": error, "detail": detail}, status_code=status, headers=headers)


def create_app(
    settings: Settings,
    *,
    span_exporter: SpanExporter | None = None,
    autoload: bool = True,
    nvml: NvmlReader | None = None,
) -> FastAPI:
    """Build the service. ``autoload=False`` leaves model loading to ``app.state.svc.load_model()``."""
    settings.validate()
    nvml = nvml or NvmlReader()
    metrics = ServiceMetrics(nvml) if settings.metrics_enabled else None
    tracing = setup_tracing(settings, span_exporter)
    state = ModelState()
    worker = BatchWorker(
        state,
        metrics,
        max_batch=settings.max_batch,
        max_wait_ms=settings.max_wait_ms,
        max_queue=settings.max_queue,
        tracer=tracing.tracer,
    )
    faults = FaultInjector() if settings.faults_enabled else None
    svc = ServiceContext(
        settings,
        metrics,
        nvml,
        state,
        worker,
        tracing,
        HealthChecker(settings, state, worker, tracing, nvml),
        faults,
    )

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        worker.start()
        if autoload:
            svc.load_model()
        log.info(
            "service started",
            extra={
                "version": __version__,
                "max_batch": settings.max_batch,
                "max_wait_ms": settings.max_wait_ms,
                "metrics_enabled": settings.metrics_enabled,
                "tracing_enabled": settings.tracing_enabled,
                "faults_enabled": settings.faults_enabled,
            },
        )
        try:
            yield
        finally:
            worker.stop()
            tracing.shutdown()
            log.info("service stopped")

    app = FastAPI(
        title="Fugatto Audio Lab",
        version=__version__,
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
        # The service owns its telemetry (ObservabilityMiddleware, tracing.py). FastAPI's native
        # OpenTelemetry support would add a second server span, and its own exporters under
        # FASTAPI_OTEL_AUTO_CONFIGURE, as soon as any global provider is set.
        telemetry={"tracing": False, "metrics": False, "logs": False, "auto_configure": False},
    )
    app.state.svc = svc

    @app.exception_handler(RequestValidationError)
    async def invalid_input(request: Request, exc: RequestValidationError) -> JSONResponse:
        # Never echo the input back (it may be huge or hostile); locations and reasons suffice.
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

    @app.exception_handler(Unauthorized)
    async def unauthorized(_: Request, __: Unauthorized) -> JSONResponse:
        return unauthorized_response()

    # Requests reach this through serve_generate (below), which the middleware calls directly.
    @app.post(
        "/generate",
        response_class=Response,
        responses={200: {"content": {"audio/wav": {}}}, 422: _INVALID_INPUT_RESPONSE},
        openapi_extra={"requestBody": {"required": True, "content": {"application/json": {"schema": _BODY_SCHEMA}}}},
    )
    async def generate(request: Request) -> Response:
        body = await _generate_request(request)
        if faults is not None:
            await faults.apply_latency()
            if faults.should_error():
                return _error(500, "injected_error", "fault drill: injected HTTP 500")
        ready, reason = svc.health.readiness()
        if not ready or state.model is None:
            return _error(503, "not_ready", reason, {"Retry-After": "1"})
        model = state.model
        seed = body.seed if body.seed is not None else secrets.randbelow(2**32)
        num_samples = max(1, round(body.duration_seconds * model.sample_rate))
        tracer = tracing.tracer
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
                future = worker.submit(
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
                timer = asyncio.get_running_loop().call_later(settings.request_timeout_s, _expire, future)
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
                return _error(503, "timeout", f"generation took longer than {settings.request_timeout_s}s")
            if span is not None:
                span.set_attribute("batch.size", batch_size)
        return Response(
            encode_wav(pcm, model.sample_rate),
            media_type="audio/wav",
            headers={"X-Seed": str(seed), "X-Sample-Rate": str(model.sample_rate), "X-Model": model.name},
        )

    async def serve_generate(scope: Scope, receive: Receive, send: Send) -> None:
        """``POST /generate`` as the middleware serves it: the route above, minus FastAPI's
        layers around it. The route stays the API's declaration (the OpenAPI document, 405 for
        other methods, the route label). The one layer it needs back is the exception handling:
        an exception the app has a handler for gets that handler's response (the handlers here,
        and FastAPI's defaults, are all async), any other reaches the middleware's 500."""
        request = Request(scope, receive)
        try:
            response = await generate(request)
        except Exception as exc:
            handler = next((app.exception_handlers[c] for c in type(exc).__mro__ if c in app.exception_handlers), None)
            if handler is None:
                raise
            response = await handler(request, exc)
        await response(scope, receive, send)

    @app.get("/health")
    async def health() -> JSONResponse:
        dead = svc.health.worker_dead()
        return JSONResponse(
            {
                "status": "unhealthy" if dead else "healthy",
                "timestamp": utc_now(),
                "uptime_seconds": svc.health.uptime(),
            },
            status_code=503 if dead else 200,
        )

    @app.get("/health/detailed")
    async def health_detailed() -> JSONResponse:
        report = svc.health.detailed()
        return JSONResponse(report, status_code=503 if report["status"] == "unhealthy" else 200)

    @app.get("/ready")
    async def ready() -> JSONResponse:
        ok, reason = svc.health.readiness()
        if ok and state.model is not None:
            return JSONResponse({"status": "ready", "model": state.model.name})
        return JSONResponse({"status": "not ready", "reason": reason}, status_code=503)

    @app.get("/live")
    async def live() -> JSONResponse:
        return JSONResponse({"status": "alive", "timestamp": datetime.now(UTC).isoformat().replace("+00:00", "Z")})

    if faults is not None:
        assert settings.admin_token is not None  # enforced by Settings.validate
        add_routes(app, faults, settings.admin_token)

    # Outermost: the request id, server span, metrics and access log cover everything inside.
    app.add_middleware(
        ObservabilityMiddleware,
        routes=app.router.routes,
        metrics=metrics,
        max_body_bytes=settings.max_body_bytes,
        tracing=tracing,
        hot_routes={("POST", "/generate"): serve_generate},
    )
    return app

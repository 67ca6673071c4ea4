"""The FastAPI application: the service's parts built from :class:`Settings`, wired to the routes.

``create_app`` owns nothing global, so tests can build several apps in one process (with an
in-memory span exporter, or with model loading deferred to observe ``/ready`` before the model
is there). The routes are in ``api.py`` and ``faults.py``; what they share is the
:class:`ServiceContext` they receive through ``Depends``.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager

from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from opentelemetry.sdk.trace.export import SpanExporter

from . import __version__, api, faults
from .batching import BatchWorker
from .config import Settings
from .context import ServiceContext
from .fast_path import FastGenerate
from .gpu import NvmlReader
from .health import HealthChecker
from .metrics import ServiceMetrics
from .middleware import ObservabilityMiddleware
from .models import ModelState
from .tracing import setup_tracing

log = logging.getLogger(__name__)


def build_context(
    settings: Settings, span_exporter: SpanExporter | None = None, nvml: NvmlReader | None = None
) -> ServiceContext:
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
    health = HealthChecker(settings, state, worker, tracing, nvml)
    fault_injector = faults.FaultInjector() if settings.faults_enabled else None
    return ServiceContext(settings, metrics, nvml, state, worker, tracing, health, fault_injector)


def lifespan(svc: ServiceContext, autoload: bool) -> Callable[[FastAPI], AbstractAsyncContextManager[None]]:
    @asynccontextmanager
    async def run(_: FastAPI) -> AsyncIterator[None]:
        settings = svc.settings
        svc.worker.start()
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
                "fast_path": settings.fast_path,
            },
        )
        try:
            yield
        finally:
            svc.worker.stop()
            svc.tracing.shutdown()
            log.info("service stopped")

    return run


def create_app(
    settings: Settings,
    *,
    span_exporter: SpanExporter | None = None,
    autoload: bool = True,
    nvml: NvmlReader | None = None,
) -> FastAPI:
    """Build the service. ``autoload=False`` leaves model loading to ``app.state.svc.load_model()``."""
    svc = build_context(settings.validate(), span_exporter, nvml)
    app = FastAPI(
        title="Fugatto Audio Lab",
        version=__version__,
        lifespan=lifespan(svc, autoload),
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
        # The service owns its telemetry (ObservabilityMiddleware, tracing.py). FastAPI's native
        # OpenTelemetry support would add a second server span, and its own exporters under
        # FASTAPI_OTEL_AUTO_CONFIGURE, as soon as any global provider is set.
        telemetry={"tracing": False, "metrics": False, "logs": False, "auto_configure": False},
    )
    app.state.svc = svc
    app.add_exception_handler(RequestValidationError, api.invalid_input)  # type: ignore[arg-type]
    app.add_exception_handler(faults.Unauthorized, faults.unauthorized)  # type: ignore[arg-type]
    app.include_router(api.generation)
    app.include_router(api.probes)
    if settings.faults_enabled:
        app.include_router(faults.admin)
    if settings.fast_path:
        app.add_middleware(FastGenerate, svc=svc)  # added before, so it runs inside, the observability middleware
    # Outermost: the request id, server span, metrics and access log cover everything inside.
    app.add_middleware(
        ObservabilityMiddleware,
        routes=app.router.routes,
        metrics=svc.metrics,
        max_body_bytes=settings.max_body_bytes,
        tracing=svc.tracing,
    )
    return app

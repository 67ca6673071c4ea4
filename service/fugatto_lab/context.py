"""What the routes of one app share: its settings, model, batch worker, health, tracing and faults.

``create_app`` builds one :class:`ServiceContext` per app and stores it on ``app.state.svc``;
routes receive it through the :data:`Service` dependency. Nothing is global, so tests can build
several apps in one process.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated

from fastapi import Depends, Request

from .models import ModelState, start_loading

if TYPE_CHECKING:
    from .batching import BatchWorker
    from .config import Settings
    from .faults import FaultInjector
    from .gpu import NvmlReader
    from .health import HealthChecker
    from .metrics import ServiceMetrics
    from .tracing import Tracing


@dataclass
class ServiceContext:
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


async def service_context(request: Request) -> ServiceContext:
    # async on purpose: FastAPI runs a plain ``def`` dependency in a worker thread, per request.
    return request.app.state.svc


Service = Annotated[ServiceContext, Depends(service_context)]

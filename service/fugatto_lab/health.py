"""Health, readiness and liveness, checking only components this service really has.

The reference design checked a database the service does not have and returned a fixed
"15 ms"; here every check reads live state: the loaded model, the GPU through NVML, process
and host resources, the batch worker thread and the tracing exporter. Overall status is the
worst of the checks: any ``unhealthy`` makes it unhealthy, else any ``warning`` a warning.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path

import psutil

from .batching import BatchWorker
from .config import Settings
from .gpu import NvmlReader
from .models import ModelState
from .tracing import Tracing

MEMORY_WARN_PERCENT = 85.0
CPU_WARN_PERCENT = 80.0
DISK_WARN_PERCENT = 90.0
_RANK = {"healthy": 0, "warning": 1, "unhealthy": 2}


def utc_now() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


class HealthChecker:
    def __init__(self, settings: Settings, state: ModelState, worker: BatchWorker, tracing: Tracing, nvml: NvmlReader) -> None:
        self.settings = settings
        self.state = state
        self.worker = worker
        self.tracing = tracing
        self.nvml = nvml
        self.started = time.monotonic()
        self._process = psutil.Process()
        psutil.cpu_percent(interval=None)  # prime: the first reading is meaningless

    def uptime(self) -> float:
        return round(time.monotonic() - self.started, 3)

    def check_model(self) -> dict[str, object]:
        state = self.state
        if state.status == "ready" and state.model is not None:
            m = state.model
            return {
                "status": "healthy",
                "models_loaded": 1,
                "name": m.name,
                "kind": m.kind,
                "device": m.device,
                "sample_rate": m.sample_rate,
                "load_seconds": state.load_seconds,
                "source": state.source,
                "details": "model loaded and serving",
            }
        if state.status == "failed":
            return {
                "status": "unhealthy",
                "models_loaded": 0,
                "source": state.source,
                "error": state.error,
                "details": "model failed to load",
            }
        return {
            "status": "unhealthy",
            "models_loaded": 0,
            "source": state.source,
            "details": "model is loading",
        }

    def check_gpu(self) -> dict[str, object]:
        gpus = self.nvml.read()
        device = self.state.model.device if self.state.model is not None else None
        if gpus:
            return {
                "status": "healthy",
                "gpu_count": len(gpus),
                "model_device": device,
                "gpus": [
                    {
                        "index": g.index,
                        "name": g.name,
                        "utilization_percent": g.utilization_percent,
                        "memory_used_bytes": g.memory_used_bytes,
                        "memory_total_bytes": g.memory_total_bytes,
                    }
                    for g in gpus
                ],
                "details": "GPU telemetry from NVML",
            }
        if self.settings.device == "cpu":
            return {
                "status": "healthy",
                "gpu_count": 0,
                "model_device": device,
                "details": "running on CPU as configured (--device cpu)",
            }
        return {
            "status": "warning",
            "gpu_count": 0,
            "model_device": device,
            "nvml": self.nvml.error,
            "details": "no GPU available, running on CPU",
        }

    def check_system(self) -> dict[str, object]:
        memory = psutil.virtual_memory()
        cpu = psutil.cpu_percent(interval=None)  # since the previous call; never blocks the loop
        log_dir = self.settings.log_dir if self.settings.log_dir.exists() else Path(".")
        disk = psutil.disk_usage(str(log_dir))
        warnings = []
        if memory.percent > MEMORY_WARN_PERCENT:
            warnings.append("high memory usage")
        if cpu > CPU_WARN_PERCENT:
            warnings.append("high CPU usage")
        if disk.percent > DISK_WARN_PERCENT:
            warnings.append("low disk space for logs")
        return {
            "status": "warning" if warnings else "healthy",
            "process_rss_bytes": self._process.memory_info().rss,
            "memory_percent": memory.percent,
            "cpu_percent": cpu,
            "disk_percent": disk.percent,
            "warnings": warnings,
            "details": "system resources checked",
        }

    def detailed(self) -> dict[str, object]:
        checks = {
            "model": self.check_model(),
            "gpu": self.check_gpu(),
            "system": self.check_system(),
            "batch_worker": self.worker.health(),
            "tracing": self.tracing.health(),
        }
        overall = max((str(c["status"]) for c in checks.values()), key=lambda s: _RANK.get(s, 2))
        return {"status": overall, "timestamp": utc_now(), "uptime_seconds": self.uptime(), "checks": checks}

    def worker_dead(self) -> bool:
        return self.worker.health()["status"] == "unhealthy"

    def readiness(self) -> tuple[bool, str]:
        if self.state.status == "failed":
            return False, f"model load failed: {self.state.error}"
        if self.state.status != "ready":
            return False, "model is loading"
        if not self.worker.alive:
            return False, f"batch worker is not running: {self.worker.died or 'not started'}"
        return True, "ready"

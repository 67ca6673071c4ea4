"""GPU readings from NVML (nvidia-ml-py), the only source of per-GPU utilisation.

``torch.cuda.utilization`` also goes through NVML but only for devices torch sees and it
raises on machines without a driver; reading NVML directly reports every GPU on the host
by index and lets a CPU-only machine say "no NVML" instead of faking zeros. When NVML is
missing the reader returns no samples and the GPU metric families have no series at all.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class GpuSample:
    index: int
    name: str
    utilization_percent: float
    memory_used_bytes: int
    memory_total_bytes: int


class NvmlReader:
    """Lazily initialised NVML access; safe to call from the scrape thread and request threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._initialised = False
        self._available = False
        self.error: str | None = None
        self._nvml: object | None = None

    def _init(self) -> None:
        self._initialised = True
        try:
            import pynvml  # provided by nvidia-ml-py

            pynvml.nvmlInit()
            self._nvml = pynvml
            self._available = True
        except Exception as exc:  # NVMLError_LibraryNotFound, DriverNotLoaded, ImportError...
            self.error = f"NVML unavailable: {type(exc).__name__}: {exc}"
            log.info("no GPU telemetry", extra={"reason": self.error})

    @property
    def available(self) -> bool:
        with self._lock:
            if not self._initialised:
                self._init()
            return self._available

    def read(self) -> list[GpuSample]:
        if not self.available:
            return []
        nvml = self._nvml
        samples: list[GpuSample] = []
        try:
            for index in range(nvml.nvmlDeviceGetCount()):  # type: ignore[attr-defined]
                handle = nvml.nvmlDeviceGetHandleByIndex(index)  # type: ignore[attr-defined]
                util = nvml.nvmlDeviceGetUtilizationRates(handle)  # type: ignore[attr-defined]
                mem = nvml.nvmlDeviceGetMemoryInfo(handle)  # type: ignore[attr-defined]
                name = nvml.nvmlDeviceGetName(handle)  # type: ignore[attr-defined]
                samples.append(
                    GpuSample(
                        index,
                        name.decode() if isinstance(name, bytes) else str(name),
                        float(util.gpu),
                        int(mem.used),
                        int(mem.total),
                    )
                )
        except Exception as exc:  # a GPU fell off the bus: report what we have, say why
            self.error = f"NVML read failed: {type(exc).__name__}: {exc}"
            log.warning("NVML read failed", extra={"reason": self.error})
        return samples

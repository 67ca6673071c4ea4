"""Fault injection for alerting drills: errors, latency and model failures on demand.

The routes exist only when ``FUGATTO_FAULTS_ENABLED=true`` and always need the bearer token in
``FUGATTO_ADMIN_TOKEN``; the service refuses to start with the flag on and no token. Every
change, and every rejected attempt, is written to the security log. Faults act only on
``/generate`` so probes and scrapes keep working during a drill - the point is to see the
alerts fire, not to take the service down.

Rates are exact by default (``pattern: even``): a rate of k/n fails exactly k of every n requests,
spread evenly (request i fails when floor(i*k/n) steps up, as Bresenham's line steps), counted from
the moment the faults are set. A drill can then hold an error ratio exactly at an alert's
threshold; with ``pattern: random`` each request fails independently with that probability.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import random
import threading
from fractions import Fraction
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from .context import Service
from .logging_setup import security_log

log = logging.getLogger(__name__)


class FaultConfig(BaseModel):
    """What to break; missing fields mean "no fault of that kind"."""

    model_config = ConfigDict(extra="forbid")

    error_rate: float = Field(
        0.0,
        ge=0.0,
        le=1.0,
        allow_inf_nan=False,
        description="fraction of /generate requests answered with HTTP 500",
    )
    latency_seconds: float = Field(
        0.0, ge=0.0, le=60.0, allow_inf_nan=False, description="delay added to every /generate request"
    )
    generation_failure_rate: float = Field(
        0.0, ge=0.0, le=1.0, allow_inf_nan=False, description="fraction of model calls that fail"
    )
    pattern: Literal["even", "random"] = Field(
        "even", description="even: exactly k of every n requests fail, spread evenly; random: each with that probability"
    )


# A rate's denominator is capped so that 0.05 is exactly 1/20, not the float's 3602879701896397/72057594037927936.
MAX_DENOMINATOR = 1_000_000


class EvenSchedule:
    """Exactly k failures in every n decisions, spread evenly: decision i (from 1) fails when
    floor(i*k/n) grows. Every run of n decisions starting at a multiple of n holds exactly k."""

    def __init__(self, rate: float) -> None:
        fraction = Fraction(rate).limit_denominator(MAX_DENOMINATOR)
        self.k, self.n = fraction.numerator, fraction.denominator
        self.i = 0

    def next(self) -> bool:
        self.i += 1
        return (self.i * self.k) // self.n > ((self.i - 1) * self.k) // self.n


class FaultInjector:
    """Current faults, shared by request handlers; each kind of fault keeps its own schedule."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._config = FaultConfig()
        self._rng = random.Random()
        self._schedules: dict[str, EvenSchedule] = {}

    @property
    def config(self) -> FaultConfig:
        with self._lock:
            return self._config

    def set(self, config: FaultConfig) -> None:
        """New faults; even schedules restart, so the first n requests after this hold exactly k failures."""
        with self._lock:
            self._config = config
            self._schedules = {
                "error": EvenSchedule(config.error_rate),
                "generation": EvenSchedule(config.generation_failure_rate),
            }

    def clear(self) -> None:
        self.set(FaultConfig())

    def _roll(self, kind: str, rate: float) -> bool:
        if rate <= 0.0:
            return False
        with self._lock:
            if self._config.pattern == "random":
                return self._rng.random() < rate
            return self._schedules[kind].next()

    async def apply_latency(self) -> None:
        delay = self.config.latency_seconds
        if delay > 0:
            await asyncio.sleep(delay)

    def should_error(self) -> bool:
        return self._roll("error", self.config.error_rate)

    def should_fail_generation(self) -> bool:
        return self._roll("generation", self.config.generation_failure_rate)


def _client(request: Request) -> str | None:
    return request.client.host if request.client else None


async def require_admin(request: Request, svc: Service) -> None:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    expected = (svc.settings.admin_token or "").encode()
    if not expected or scheme.lower() != "bearer" or not hmac.compare_digest(token.strip().encode(), expected):
        security_log().warning(
            "admin authentication failed",
            extra={
                "event": "admin_auth_failed",
                "path": request.url.path,
                "http_method": request.method,
                "client_ip": _client(request),
                "reason": "missing bearer token" if not header else "invalid token",
            },
        )
        raise Unauthorized()


async def fault_injector(svc: Service) -> FaultInjector:
    assert svc.faults is not None, "the admin routes are included only with faults enabled"
    return svc.faults


Injector = Annotated[FaultInjector, Depends(fault_injector)]

# Included by create_app only when FUGATTO_FAULTS_ENABLED=true.
admin = APIRouter(dependencies=[Depends(require_admin)])


@admin.get("/admin/faults")
def get_faults(injector: Injector) -> FaultConfig:
    return injector.config


@admin.post("/admin/faults")
def set_faults(config: FaultConfig, request: Request, injector: Injector) -> FaultConfig:
    injector.set(config)
    security_log().warning(
        "fault injection set",
        extra={"event": "faults_set", "client_ip": _client(request), **config.model_dump()},
    )
    return config


@admin.delete("/admin/faults")
def clear_faults(request: Request, injector: Injector) -> FaultConfig:
    injector.clear()
    security_log().warning("fault injection cleared", extra={"event": "faults_cleared", "client_ip": _client(request)})
    return injector.config


class Unauthorized(Exception):
    """Raised by the admin dependency; the app turns it into a 401 with ``WWW-Authenticate``."""


async def unauthorized(_: Request, __: Unauthorized) -> JSONResponse:
    """The app's handler for :class:`Unauthorized`."""
    return JSONResponse(
        {"error": "unauthorized", "detail": "a valid bearer token is required"},
        status_code=401,
        headers={"WWW-Authenticate": "Bearer"},
    )

"""Benchmarks of the Fugatto Audio Lab service (not tests: run by hand, record in bench/results/service.md).

    .venv/bin/python bench/service_bench.py                 # everything (~5 min on 2 cores)
    .venv/bin/python bench/service_bench.py throughput      # one scenario: throughput|overhead|cost|scrape|rss|fastpath
    .venv/bin/python bench/service_bench.py --device cuda   # on a GPU machine (see bench/gpu_bench.sh)
    FUGATTO_FAST_PATH=1 .venv/bin/python bench/service_bench.py throughput   # the services with the opt-in fast path

The service runs as a real subprocess (``python -m fugatto_lab.server``) on free ports; the load
generator is a minimal keep-alive HTTP/1.1 client (an asyncio protocol on uvloop), so the
client's own CPU cost stays small (on a 2-core machine client and server still share the CPU:
numbers are conservative). Each request asks for ``--audio-seconds`` of audio, prompts rotate
over four kinds of sound, and every request has its own seed.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import http.client
import http.server
import json
import multiprocessing
import os
import statistics
import subprocess
import sys
import threading
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import psutil
import uvloop

from stackgen.runtime.ports import free_port

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "service"))
from fugatto_lab.config import DEFAULT_TRACE_SAMPLE_RATIO  # noqa: E402 (the checkout's service, installed or not)

PROMPTS = ["a calm 440 Hz sine tone", "rain on a tin roof", "fast drum loop at 140 bpm", "low cello drone"]


class OtlpSink:
    """Accepts OTLP/HTTP exports and discards them, so tracing cost includes real export work."""

    def __init__(self) -> None:
        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                self.rfile.read(int(self.headers.get("content-length", 0)))
                self.send_response(200)
                self.send_header("content-type", "application/x-protobuf")
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


class Service:
    def __init__(self, *, max_batch: int, max_wait_ms: float, metrics: bool, tracing: bool, device: str,
                 otlp_port: int | None, log_dir: Path, trace_ratio: float = 1.0, fast_path: bool | None = None) -> None:
        self.port, self.metrics_port = free_port(), free_port()
        env = {**os.environ, "METRICS_ENABLED": str(metrics).lower(), "TRACING_ENABLED": str(tracing).lower(),
               "FUGATTO_LOG_DIR": str(log_dir), "LOG_LEVEL": "INFO", "OTEL_TRACES_SAMPLER_ARG": str(trace_ratio)}
        if fast_path is not None:  # else the service's default, or FUGATTO_FAST_PATH from this environment
            env["FUGATTO_FAST_PATH"] = str(fast_path).lower()
        if otlp_port:
            env["OTEL_EXPORTER_OTLP_ENDPOINT"] = f"http://127.0.0.1:{otlp_port}"
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "fugatto_lab.server", "--port", str(self.port), "--metrics-port",
             str(self.metrics_port), "--max-batch", str(max_batch), "--max-wait-ms", str(max_wait_ms),
             "--device", device], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/ready", timeout=1) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline or self.proc.poll() is not None:
                raise RuntimeError("service did not become ready")
            time.sleep(0.1)

    def cpu_seconds(self) -> float:
        """User + system CPU of the server process: robust to other load on a shared machine."""
        times = psutil.Process(self.proc.pid).cpu_times()
        return times.user + times.system

    def thread_cpu(self) -> tuple[float, float]:
        """CPU seconds of the event loop (the main thread) and of every other thread together
        (the batch worker, torch, the metrics server): which side a throughput limit is on."""
        main = other = 0.0
        for t in psutil.Process(self.proc.pid).threads():
            if t.id == self.proc.pid:
                main += t.user_time + t.system_time
            else:
                other += t.user_time + t.system_time
        return main, other

    def rss(self) -> int:
        return psutil.Process(self.proc.pid).memory_info().rss

    def metrics_text(self) -> str:
        with urllib.request.urlopen(f"http://127.0.0.1:{self.metrics_port}/metrics", timeout=5) as r:
            return r.read().decode()

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.proc.kill()


@dataclass
class LoadResult:
    clients: int
    requests: int
    seconds: float
    latencies: list[float]
    errors: int

    @property
    def throughput(self) -> float:
        return self.requests / self.seconds

    def pct(self, q: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


class _Connection(asyncio.Protocol):
    """One keep-alive HTTP/1.1 connection of the load generator.

    A protocol, not asyncio streams: the response body is counted as it arrives, never
    buffered or copied, and one request costs one future. On a 2-core machine every
    microsecond the client spends is taken from the server it measures (the streams client
    cost 105-134 us of CPU per 64 KB response, this one about half that).
    """

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.done: asyncio.Future[int] | None = None
        self.head = b""
        self.status = 0
        self.remaining = -1  # body bytes still to come; -1 while the head is incomplete

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def request(self, data: bytes) -> asyncio.Future[int]:
        assert self.transport is not None
        self.done = asyncio.get_running_loop().create_future()
        self.head, self.remaining = b"", -1
        self.transport.write(data)
        return self.done

    def data_received(self, data: bytes) -> None:
        if self.remaining < 0:
            self.head += data
            end = self.head.find(b"\r\n\r\n")
            if end < 0:
                return
            head = self.head[:end].lower()
            self.status = int(head.split(b" ", 2)[1])
            marker = head.index(b"\r\ncontent-length:") + len(b"\r\ncontent-length:")  # ValueError if absent
            length = int(head[marker:].split(b"\r\n", 1)[0])
            self.remaining = length - (len(self.head) - end - 4)
        else:
            self.remaining -= len(data)
        if self.remaining <= 0 and self.done is not None and not self.done.done():
            self.done.set_result(self.status)

    def connection_lost(self, exc: Exception | None) -> None:
        if self.done is not None and not self.done.done():
            self.done.set_exception(exc or ConnectionError("server closed the connection"))


async def _client(port: int, stop: float, audio_seconds: float, lats: list[float], errors: list[int],
                  counter: list[int], limit: int | None) -> None:
    transport, conn = await asyncio.get_running_loop().create_connection(_Connection, "127.0.0.1", port)
    try:
        while time.perf_counter() < stop and (limit is None or counter[0] < limit):
            counter[0] += 1
            n = counter[0]
            body = json.dumps({"prompt": PROMPTS[n % len(PROMPTS)], "duration_seconds": audio_seconds,
                               "seed": n}).encode()
            head = (f"POST /generate HTTP/1.1\r\nHost: bench\r\nContent-Type: application/json\r\n"
                    f"Content-Length: {len(body)}\r\n\r\n").encode()
            t0 = time.perf_counter()
            status = await conn.request(head + body)
            lats.append(time.perf_counter() - t0)
            if status != 200:
                errors[0] += 1
    finally:
        transport.close()


async def _load(port: int, clients: int, seconds: float, audio_seconds: float, limit: int | None) -> LoadResult:
    lats: list[float] = []
    errors, counter = [0], [0]
    start = time.perf_counter()
    await asyncio.gather(*(_client(port, start + seconds, audio_seconds, lats, errors, counter, limit)
                           for _ in range(clients)))
    return LoadResult(clients, len(lats), time.perf_counter() - start, lats, errors[0])


def load(port: int, clients: int, seconds: float, audio_seconds: float, warmup: float = 1.0,
         limit: int | None = None) -> LoadResult:
    # uvloop (a service dependency) for the same reason as the protocol: a cheaper client.
    if warmup:
        uvloop.run(_load(port, clients, warmup, audio_seconds, None))
    return uvloop.run(_load(port, clients, seconds, audio_seconds, limit))


def row(name: str, r: LoadResult) -> str:
    return (f"| {name} | {r.clients} | {r.throughput:.1f} | {r.pct(0.5):.1f} | {r.pct(0.95):.1f} | "
            f"{r.requests} | {r.errors} |")


HEADER = ("| config | clients | req/s | p50 ms | p95 ms | requests | errors |\n"
          "|---|---:|---:|---:|---:|---:|---:|")


def scenario_throughput(args: argparse.Namespace, log_dir: Path) -> dict[str, object]:
    print(f"\n### Throughput ({args.audio_seconds} s of audio per request, {args.seconds} s per point)\n")
    print(HEADER)
    configs = {f"batching max_batch={args.max_batch}": args.max_batch, "no batching max_batch=1": 1}
    # Both servers are up for the whole run (an idle one costs nothing); only one is loaded at a time.
    services = {name: Service(max_batch=max_batch, max_wait_ms=args.max_wait_ms, metrics=True, tracing=False,
                              device=args.device, otlp_port=None, log_dir=log_dir)
                for name, max_batch in configs.items()}
    out: dict[str, dict[int, float]] = {}
    splits: dict[str, tuple[float, float]] = {}
    rounds: dict[str, list[float]] = {name: [] for name in services}
    try:
        for name, svc in services.items():
            for clients in (1, 8, 32):
                cpu_before = svc.thread_cpu()
                r = load(svc.port, clients, args.seconds, args.audio_seconds)
                cpu_after = svc.thread_cpu()
                out.setdefault(name, {})[clients] = r.throughput
                print(row(name, r), flush=True)
            # The last point is 32 clients; its warm-up second is included in the CPU, so the
            # split is a ratio, not an exact cost.
            splits[name] = (cpu_after[0] - cpu_before[0], cpu_after[1] - cpu_before[1])
            if args.show_gpu:
                gpu = [line for line in svc.metrics_text().splitlines() if line.startswith("fugatto_gpu_")]
                print("\nGPU gauges after the run:\n" + ("\n".join(gpu) or "(none: NVML unavailable)"))
        # The speedup from one pair of points swings by a third on a shared machine: measure it
        # again in alternating rounds (the order flips every round) and take the median.
        names = list(services)
        for round_no in range(args.rounds):
            for name in names if round_no % 2 == 0 else names[::-1]:
                rounds[name].append(load(services[name].port, 32, args.seconds, args.audio_seconds).throughput)
    finally:
        for svc in services.values():
            svc.stop()
    batched, unbatched = (rounds[name] for name in names)
    ratios = [b / u for b, u in zip(batched, unbatched, strict=True)]
    speedup = statistics.median(ratios)
    for name, (main, other) in splits.items():
        print(f"\nserver CPU at 32 clients, {name}: event loop {main:.2f} s, batch worker and other threads "
              f"{other:.2f} s (of {args.seconds + 1:.0f} s)", end="")
    print(f"\n\n32 clients, {args.rounds} alternating rounds: batched {', '.join(f'{x:.1f}' for x in batched)} req/s; "
          f"max_batch=1 {', '.join(f'{x:.1f}' for x in unbatched)} req/s; speedup per round "
          f"{', '.join(f'{x:.2f}' for x in ratios)}")
    print(f"batching speedup at 32 clients: {speedup:.2f}x (median of {args.rounds} rounds)")
    return {"throughput": out, "rounds_32": rounds, "speedup_32": speedup}


def scenario_overhead(args: argparse.Namespace, log_dir: Path) -> dict[str, object]:
    print(f"\n### Instrumentation overhead (32 clients, {args.rounds} interleaved rounds of {args.seconds} s, "
          f"trace sample ratio {args.trace_ratio})\n")
    sink = OtlpSink()
    common = dict(max_batch=args.max_batch, max_wait_ms=args.max_wait_ms, device=args.device, log_dir=log_dir)
    services = {
        "off": Service(metrics=False, tracing=False, otlp_port=None, **common),
        "metrics only": Service(metrics=True, tracing=False, otlp_port=None, **common),
        "metrics + tracing": Service(metrics=True, tracing=True, otlp_port=sink.port,
                                     trace_ratio=args.trace_ratio, **common),
    }
    results: dict[str, list[float]] = {name: [] for name in services}
    cpu_ms: dict[str, list[float]] = {name: [] for name in services}
    try:
        # All servers are up for the whole run; only one is loaded at a time. The order rotates
        # every round so that no configuration always runs first (or right after another).
        names = list(services)
        for round_no in range(args.rounds):
            shift = round_no % len(names)
            for name in names[shift:] + names[:shift]:
                svc = services[name]
                load(svc.port, 32, 0, args.audio_seconds, warmup=1.0)
                before = svc.cpu_seconds()
                r = load(svc.port, 32, args.seconds, args.audio_seconds, warmup=0)
                cpu_ms[name].append((svc.cpu_seconds() - before) / r.requests * 1000)
                results[name].append(r.throughput)
    finally:
        for svc in services.values():
            svc.stop()
    off = statistics.median(results["off"])
    off_cpu = statistics.median(cpu_ms["off"])
    print("| instrumentation | req/s per round | median req/s | throughput overhead | server CPU ms/request "
          "(median) | CPU overhead |\n|---|---|---:|---:|---:|---:|")
    overheads = {}
    for name, values in results.items():
        overheads[name] = (off - statistics.median(values)) / off * 100
        cpu = statistics.median(cpu_ms[name])
        per_round = ", ".join(f"{x:.1f}" for x in values)
        print(f"| {name} | {per_round} | {statistics.median(values):.1f} | {overheads[name]:.1f}% | {cpu:.3f} | "
              f"{(cpu - off_cpu) / off_cpu * 100:.1f}% |")
    print("\n(tracing exports over OTLP/HTTP to a local sink that accepts and discards spans)")
    return {"overhead": results, "overhead_percent": overheads, "cpu_ms_per_request": cpu_ms}


async def _asgi_post(app: object, path: str, body: bytes) -> int:
    """One request straight into the ASGI app: no sockets, no client, nothing else to measure."""
    headers = [(b"host", b"bench"), (b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST", "scheme": "http",
             "path": path, "raw_path": path.encode(), "query_string": b"", "root_path": "", "headers": headers,
             "client": ("127.0.0.1", 50000), "server": ("127.0.0.1", 8000)}
    delivered = False
    status = 0

    async def receive() -> dict[str, object]:
        nonlocal delivered
        if not delivered:
            delivered = True
            return {"type": "http.request", "body": body, "more_body": False}
        await asyncio.Event().wait()  # the app never asks twice; if it did, it would wait here
        return {}

    async def send(message: dict[str, object]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = int(message["status"])  # type: ignore[arg-type]

    await app(scope, receive, send)  # type: ignore[operator]
    return status


def scenario_cost(args: argparse.Namespace, log_dir: Path) -> dict[str, object]:
    """CPU time per request that metrics and tracing add, measured on their own code paths.

    Throughput differences of a few percent drown in this machine's noise (see the overhead
    scenario), so this measures the instrumentation directly: the service's real
    ObservabilityMiddleware (request id, route template, access log, metrics, server span) around
    a stand-in for the /generate handler that does exactly the handler's and the batch worker's
    instrumentation (generation span, ``BatchWorker._trace``, generation metrics) and no model
    work. Four configurations (off / metrics / + tracing, nothing sampled / + tracing, everything
    sampled, exported over OTLP/HTTP to a local sink, flushed inside the block) run in rotating
    blocks; the median CPU time per request of each is compared with the server's CPU per
    request under 32-client HTTP load, which is what throughput is made of.
    """
    from contextlib import nullcontext

    from fugatto_lab.batching import BatchWorker, GenerationJob
    from fugatto_lab.config import Settings
    from fugatto_lab.logging_setup import configure_logging
    from fugatto_lab.metrics import ServiceMetrics
    from fugatto_lab.middleware import ObservabilityMiddleware
    from fugatto_lab.models import ModelState
    from fugatto_lab.tracing import GENERATE_SPAN, setup_tracing
    from opentelemetry import trace
    from starlette.routing import Route

    sink = OtlpSink()

    def build(metrics_on: bool, ratio: float | None) -> tuple[object, object]:
        settings = Settings(log_dir=log_dir, tracing_enabled=ratio is not None, trace_sample_ratio=ratio or 0.0,
                            otlp_endpoint=f"http://127.0.0.1:{sink.port}")
        metrics = ServiceMetrics() if metrics_on else None
        tracing = setup_tracing(settings)
        worker = BatchWorker(ModelState(), metrics, max_batch=32, max_wait_ms=10, max_queue=10, tracer=tracing.tracer)
        tracer = tracing.tracer

        async def generate(scope: dict, receive: object, send: object) -> None:  # the handler's instrumentation
            await receive()  # type: ignore[operator]
            traced = tracer is not None and trace.get_current_span().is_recording()
            with tracer.start_as_current_span(GENERATE_SPAN) if traced else nullcontext() as span:
                if span is not None:
                    span.set_attributes({"prompt.length": 23, "audio.duration": args.audio_seconds,
                                         "audio.generated_samples": 32000, "model.name": "fugatto-synth-v1"})
                loop = asyncio.get_running_loop()
                job = GenerationJob(PROMPTS[0], PROMPTS[0], 32000, 1, loop, loop.create_future(), parent_span=span)
                t0 = time.time_ns()  # what BatchWorker._run records after a pass
                if metrics is not None:
                    metrics.batch_size.observe(1)
                    metrics.observe_generations("fugatto-synth-v1", 0.001, 1, 0)
                if tracer is not None:
                    worker._trace("fugatto-synth-v1", "cpu", [job], 1, t0, time.time_ns(), job.enqueued_at, True)
                if span is not None:
                    span.set_attribute("batch.size", 1)
            await send({"type": "http.response.start", "status": 200, "headers": []})  # type: ignore[operator]
            await send({"type": "http.response.body", "body": b""})  # type: ignore[operator]

        routes = [Route("/generate", endpoint=lambda request: None, methods=["POST"])]
        app = ObservabilityMiddleware(generate, routes=routes, metrics=metrics, max_body_bytes=16384, tracing=tracing)
        return app, tracing

    configs = {
        "off": build(False, None),
        "metrics": build(True, None),
        "metrics + tracing, none sampled": build(True, 0.0),
        "metrics + tracing, all sampled": build(True, 1.0),
    }
    block = 2000
    body = json.dumps({"prompt": PROMPTS[0], "duration_seconds": args.audio_seconds, "seed": 1}).encode()
    devnull = open(os.devnull, "w")  # noqa: SIM115 - lives for the scenario

    async def run() -> dict[str, list[float]]:
        per_request: dict[str, list[float]] = {name: [] for name in configs}
        names = list(configs)
        for round_no in range(args.rounds + 1):  # round 0 warms up and is dropped
            shift = round_no % len(names)
            for name in names[shift:] + names[:shift]:
                app, tracing = configs[name]
                configure_logging("INFO", log_dir, tracing=tracing.enabled, stream=devnull)
                before = time.process_time()
                for _ in range(block):
                    assert await _asgi_post(app, "/generate", body) == 200
                if tracing.enabled:
                    tracing.provider.force_flush()
                if round_no:
                    per_request[name].append((time.process_time() - before) / block * 1e6)
        return per_request

    per_request = asyncio.run(run())
    median = {name: statistics.median(v) for name, v in per_request.items()}
    spread = {name: (max(v) - min(v)) / 2 for name, v in per_request.items()}
    svc = Service(max_batch=args.max_batch, max_wait_ms=args.max_wait_ms, metrics=False, tracing=False,
                  device=args.device, otlp_port=None, log_dir=log_dir)
    try:
        load(svc.port, 32, 0, args.audio_seconds, warmup=1.0)
        before = svc.cpu_seconds()
        r = load(svc.port, 32, args.seconds, args.audio_seconds, warmup=0)
        loaded_us = (svc.cpu_seconds() - before) / r.requests * 1e6
    finally:
        svc.stop()
    metrics_us = median["metrics"] - median["off"]
    unsampled = median["metrics + tracing, none sampled"] - median["metrics"]
    sampled = median["metrics + tracing, all sampled"] - median["metrics"]
    print(f"\n### Instrumentation CPU cost per request ({args.rounds} rounds of {block} requests through the "
          "service's middleware, no model work)\n")
    print("| config | CPU us/request (median) | +/- (half range) |\n|---|---:|---:|")
    for name in per_request:
        print(f"| {name} | {median[name]:.1f} | {spread[name]:.1f} |")
    print(f"\nserver CPU per request under 32-client HTTP load ({args.audio_seconds} s audio, batching on, "
          f"instrumentation off): {loaded_us:.0f} us")
    print("\n| instrumentation | added CPU us/request | overhead vs loaded request |\n|---|---:|---:|")
    rows = {"metrics": metrics_us}
    for ratio in sorted({0.01, 0.05, 0.1, 1.0}):
        rows[f"metrics + tracing at {ratio:g}"] = metrics_us + unsampled + ratio * (sampled - unsampled)
    for name, us in rows.items():
        print(f"| {name} | {us:.1f} | {us / loaded_us * 100:.1f}% |")
    print(f"\n(an unsampled request adds {unsampled:+.1f} us, a sampled one {sampled:+.1f} us, over metrics)")
    return {"cost_us": median, "cost_rounds_us": per_request, "loaded_request_us": loaded_us,
            "overhead_percent": {k: v / loaded_us * 100 for k, v in rows.items()}}


def scenario_fastpath(args: argparse.Namespace, log_dir: Path) -> dict[str, object]:
    """What FUGATTO_FAST_PATH=1 buys over the default plain FastAPI route: two services side by
    side (batching and metrics on, as deployed), 32 clients, alternating rounds (the order flips
    every round); per round the throughput and the event loop's CPU per request (the main
    thread: the fast path changes only what runs there)."""
    print(f"\n### Fast path (32 clients, {args.rounds} alternating rounds of {args.seconds} s)\n")
    common = dict(max_batch=args.max_batch, max_wait_ms=args.max_wait_ms, metrics=True, tracing=False, device=args.device,
                  otlp_port=None, log_dir=log_dir)
    services = {"plain": Service(fast_path=False, **common), "fast path": Service(fast_path=True, **common)}
    rps: dict[str, list[float]] = {name: [] for name in services}
    loop_us: dict[str, list[float]] = {name: [] for name in services}
    total_us: dict[str, list[float]] = {name: [] for name in services}
    try:
        names = list(services)
        for round_no in range(args.rounds):
            for name in names if round_no % 2 == 0 else names[::-1]:
                svc = services[name]
                load(svc.port, 32, 0, args.audio_seconds, warmup=1.0)
                main_before, other_before = svc.thread_cpu()
                r = load(svc.port, 32, args.seconds, args.audio_seconds, warmup=0)
                main_after, other_after = svc.thread_cpu()
                rps[name].append(r.throughput)
                loop_us[name].append((main_after - main_before) / r.requests * 1e6)
                total_us[name].append((main_after - main_before + other_after - other_before) / r.requests * 1e6)
    finally:
        for svc in services.values():
            svc.stop()
    print("| path | req/s per round | median req/s | event loop us/request (median) | whole process us/request (median) |\n"
          "|---|---|---:|---:|---:|")
    for name in services:
        print(f"| {name} | {', '.join(f'{x:.0f}' for x in rps[name])} | {statistics.median(rps[name]):.1f} | "
              f"{statistics.median(loop_us[name]):.0f} | {statistics.median(total_us[name]):.0f} |")
    ratios = [f / p for f, p in zip(rps["fast path"], rps["plain"], strict=True)]
    saved = [p - f for f, p in zip(loop_us["fast path"], loop_us["plain"], strict=True)]
    print(f"\nthroughput fast / plain per round: {', '.join(f'{x:.2f}' for x in ratios)}; "
          f"median {statistics.median(ratios):.3f}x")
    print(f"event-loop CPU saved per request per round: {', '.join(f'{x:.0f}' for x in saved)} us; "
          f"median {statistics.median(saved):.0f} us")
    return {"fastpath_rps": rps, "fastpath_loop_us": loop_us, "fastpath_total_us": total_us,
            "fastpath_ratio": statistics.median(ratios), "fastpath_loop_us_saved": statistics.median(saved)}


def scenario_scrape(args: argparse.Namespace, log_dir: Path) -> dict[str, object]:
    """Scrape latency over HTTP with every label combination the service can emit populated."""
    from fugatto_lab.metrics import KNOWN_METHODS, ServiceMetrics, start_metrics_server

    metrics = ServiceMetrics()
    # Every (method, endpoint, status) the service can emit: each route's own methods with the
    # statuses it can answer, 405 for every other method on each route, 404 for unmatched paths.
    routes = {"/generate": {"POST": [200, 413, 422, 500, 503]}, "/health": {"GET": [200, 503]},
              "/health/detailed": {"GET": [200, 503]}, "/ready": {"GET": [200, 503]}, "/live": {"GET": [200]},
              "/admin/faults": {"GET": [200, 401], "POST": [200, 401, 413, 422], "DELETE": [200, 401]}}
    methods = [*sorted(KNOWN_METHODS), "BREW"]
    for endpoint, allowed in routes.items():
        for method in methods:
            for status in allowed.get(method, [405]):
                metrics.observe_request(method, endpoint, status, 0.02)
    for method in methods:
        metrics.observe_request(method, "/unknown", 404, 0.001)
        metrics.observe_request(method, "unmatched", 404, 0.001)
    metrics.observe_generations("fugatto-synth-v1", 0.05, succeeded=1, failed=1)
    metrics.model_load_seconds.labels("fugatto-synth-v1").observe(1.0)
    metrics.batch_size.observe(8)
    port = free_port()
    start_metrics_server(metrics, "127.0.0.1", port)  # the service's own /metrics server
    gc.collect()
    gc.freeze()  # as the service does once its model has loaded (models.py)
    body = metrics.exposition()
    series = sum(1 for line in body.decode().splitlines() if line and not line.startswith("#"))
    times = _scrape_times(port, args.scrapes)
    p50, p99 = times[len(times) // 2], times[int(len(times) * 0.99)]
    print(f"\n### /metrics scrape\n\n{series} samples ({len(body)} bytes), {args.scrapes} scrapes over one keep-alive "
          "HTTP connection: "
          f"p50 {p50:.2f} ms, p99 {p99:.2f} ms")
    loaded = _scrape_under_load(args, log_dir)
    return {"scrape_series": series, "scrape_p50_ms": p50, "scrape_p99_ms": p99, **loaded}


def _scrape_times(port: int, count: int, pause: float = 0.0) -> list[float]:
    """Sorted milliseconds of ``count`` scrapes over one keep-alive connection, as Prometheus holds per target."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    times = []
    for _ in range(count):
        t0 = time.perf_counter()
        connection.request("GET", "/metrics")
        with connection.getresponse() as r:
            assert r.status == 200
            r.read()
        times.append((time.perf_counter() - t0) * 1000)
        time.sleep(pause)
    connection.close()
    return sorted(times)


def _scrape_under_load(args: argparse.Namespace, log_dir: Path) -> dict[str, float]:
    """Scrape the running service (its real registry, its GC) every 20 ms while 32 clients load it.

    The clients run in their own process: in a thread of this one they would hold its GIL and
    delay the scraper's reads, which would then measure the load generator, not the service.
    """
    svc = Service(max_batch=args.max_batch, max_wait_ms=args.max_wait_ms, metrics=True, tracing=False,
                  device=args.device, otlp_port=None, log_dir=log_dir)
    try:
        loader = multiprocessing.get_context("spawn").Process(target=load, args=(svc.port, 32, 20, args.audio_seconds),
                                                              daemon=True)
        loader.start()
        time.sleep(2)
        times = _scrape_times(svc.metrics_port, 600, pause=0.02)
        loader.join()
    finally:
        svc.stop()
    p50, p99, worst = times[len(times) // 2], times[int(len(times) * 0.99)], times[-1]
    print(f"the running service under 32-client load, 600 scrapes: p50 {p50:.2f} ms, p99 {p99:.2f} ms, "
          f"max {worst:.1f} ms")
    return {"scrape_loaded_p50_ms": p50, "scrape_loaded_p99_ms": p99, "scrape_loaded_max_ms": worst}


def scenario_rss(args: argparse.Namespace, log_dir: Path) -> dict[str, object]:
    sink = OtlpSink()
    svc = Service(max_batch=args.max_batch, max_wait_ms=args.max_wait_ms, metrics=True, tracing=True,
                  device=args.device, otlp_port=sink.port, log_dir=log_dir)
    try:
        load(svc.port, 32, 3600, args.audio_seconds, warmup=0, limit=1000)
        before = svc.rss()
        r = load(svc.port, 32, 3600, args.audio_seconds, warmup=0, limit=args.rss_requests)
        after = svc.rss()
    finally:
        svc.stop()
    growth = (after - before) / before * 100
    print(f"\n### Memory\n\nRSS after 1,000 warm-up requests {before / 2**20:.1f} MiB; after {r.requests} more "
          f"({r.errors} errors): {after / 2**20:.1f} MiB; growth {growth:+.2f}%")
    return {"rss_before": before, "rss_after": after, "rss_growth_percent": growth}


SCENARIOS = {"throughput": scenario_throughput, "overhead": scenario_overhead, "cost": scenario_cost, "scrape": scenario_scrape,
             "rss": scenario_rss, "fastpath": scenario_fastpath}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("scenarios", nargs="*", help=f"any of {', '.join(SCENARIOS)} (default: all)")
    p.add_argument("--seconds", type=float, default=6.0, help="measurement time per point")
    p.add_argument("--audio-seconds", type=float, default=2.0)
    p.add_argument("--max-batch", type=int, default=32)
    p.add_argument("--max-wait-ms", type=float, default=10.0)
    p.add_argument("--device", default="cpu", choices=["cpu", "cuda", "auto"])
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--trace-ratio", type=float, default=DEFAULT_TRACE_SAMPLE_RATIO,
                   help="OTEL_TRACES_SAMPLER_ARG for the overhead run (default: the service's own default; "
                        "1.0 traces every request)")
    p.add_argument("--scrapes", type=int, default=1000)
    p.add_argument("--rss-requests", type=int, default=5000)
    p.add_argument("--show-gpu", action="store_true", help="print the GPU gauges from /metrics")
    p.add_argument("--json", type=Path, help="also write the numbers here")
    args = p.parse_args()
    unknown = set(args.scenarios) - set(SCENARIOS)
    if unknown:
        p.error(f"unknown scenario(s): {', '.join(sorted(unknown))}")
    log_dir = Path(os.environ.get("BENCH_LOG_DIR", "/tmp/fugatto-bench-logs"))
    print(f"host: {os.cpu_count()} CPUs, python {sys.version.split()[0]}, device {args.device}")
    results: dict[str, object] = {}
    for name in args.scenarios or list(SCENARIOS):
        results.update(SCENARIOS[name](args, log_dir))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())

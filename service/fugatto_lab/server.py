"""Command line entry point: ``python -m fugatto_lab.server --port 8000 --metrics-port 8001``.

Starts the Prometheus exporter on its own port, then uvicorn with the app; the model loads in
the background once the server is listening. One process serves one model: dynamic batching
needs all requests for a model to meet in one queue, so scale out with replicas, not workers.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

from .config import ConfigError, Settings, settings_from_env
from .logging_setup import configure_logging

log = logging.getLogger("fugatto_lab.server")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="python -m fugatto_lab.server",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--host", default=None, help="bind address (default 127.0.0.1; use 0.0.0.0 in a container)")
    p.add_argument("--port", type=int, default=None, help="API port (default 8000)")
    p.add_argument("--metrics-port", type=int, default=None, help="Prometheus /metrics port (default 8001)")
    p.add_argument("--metrics-host", default=None, help="bind address of /metrics (default: --host)")
    p.add_argument(
        "--model-path",
        type=Path,
        default=None,
        help="TorchScript module to serve instead of the built-in synthesizer (env FUGATTO_MODEL_PATH)",
    )
    p.add_argument("--max-batch", type=int, default=None, help="largest batch (env FUGATTO_MAX_BATCH, default 16)")
    p.add_argument(
        "--max-wait-ms",
        type=float,
        default=None,
        help="how long the first request of a batch waits for company (env FUGATTO_MAX_WAIT_MS, default 10)",
    )
    p.add_argument(
        "--device",
        choices=["auto", "cpu", "cuda"],
        default=None,
        help="where the model runs (env FUGATTO_DEVICE, default auto: CUDA when available)",
    )
    p.add_argument("--log-dir", type=Path, default=None, help="log directory (env FUGATTO_LOG_DIR, default ./logs)")
    return p.parse_args(argv)


def build_settings(args: argparse.Namespace) -> Settings:
    return settings_from_env(
        host=args.host,
        port=args.port,
        metrics_port=args.metrics_port,
        model_path=args.model_path,
        max_batch=args.max_batch,
        max_wait_ms=args.max_wait_ms,
        device=args.device,
        log_dir=args.log_dir,
    )


def main(argv: list[str] | None = None) -> int:
    # OpenMP threads otherwise busy-wait ~200 ms after each parallel region, stealing the CPU the
    # event loop needs; must be set before torch is imported (the model loader imports it).
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    # The batch worker releases the GIL for each model pass and must win it back after each;
    # with the default 5 ms switch interval a busy event loop makes each of those waits up to
    # 5 ms. At 0.1 ms the batch worker keeps its core busy: 2-core box, 32 clients, 2 s audio,
    # 679-725 req/s batched against 522-531 at 0.5 ms (bench/results/service.md). (An eager
    # model, which releases the GIL in every one of its ops, suffers this hundreds of times per
    # pass: see models.py.)
    sys.setswitchinterval(float(os.environ.get("FUGATTO_SWITCH_INTERVAL_S", "0.0001")))
    args = parse_args(argv)
    try:
        settings = build_settings(args)
    except ConfigError as exc:
        configure_logging("INFO", None)
        log.error("invalid configuration", extra={"error": str(exc)})
        print(f"fugatto_lab: configuration error: {exc}", file=sys.stderr)
        return 2
    configure_logging(
        settings.log_level,
        settings.log_dir,
        tracing=settings.tracing_enabled,
        max_bytes=settings.log_max_bytes,
        backups=settings.log_backups,
    )

    import uvicorn

    from .app import create_app
    from .metrics import start_metrics_server
    from .protocol import bounded_http_protocol

    app = create_app(settings)
    metrics = app.state.svc.metrics
    if metrics is not None:
        try:
            start_metrics_server(metrics, args.metrics_host or settings.host, settings.metrics_port)
        except OSError as exc:
            log.error("cannot bind metrics port", extra={"port": settings.metrics_port, "error": str(exc)})
            return 1
        log.info(
            "metrics server listening",
            extra={"host": args.metrics_host or settings.host, "port": settings.metrics_port},
        )
    config = uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        log_config=None,
        access_log=False,
        lifespan="on",
        timeout_graceful_shutdown=10,
        http=bounded_http_protocol(settings.read_timeout_s, settings.max_header_bytes),
        ws="none",  # the service has no WebSocket routes; an upgrade request is answered as plain HTTP
    )
    server = uvicorn.Server(config)
    server.run()
    return 0 if server.started else 1


if __name__ == "__main__":
    sys.exit(main())

"""Prometheus metrics and a health endpoint for `framewatch run --metrics-port N`."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, Info, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from ingest.model.outages import Outage
from ingest.sources.poll import PollReport


class ServiceMetrics:
    """The service's counters, in a registry of their own (no process-global state)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.polls = Counter("framewatch_polls", "Poll cycles run", registry=r)
        self.feeds_polled = Counter(
            "framewatch_feeds_polled", "Feeds polled, by outcome", ["status"], registry=r
        )
        self.fetch_errors = Counter(
            "framewatch_fetch_errors", "Failed feed fetches, by kind", ["kind"], registry=r
        )
        self.articles_stored = Counter(
            "framewatch_articles_stored", "New articles stored", registry=r
        )
        self.crawls = Counter("framewatch_crawls", "Site crawls, by status", ["status"], registry=r)
        self.job_failures = Counter(
            "framewatch_job_failures", "Scheduled jobs that raised", ["job"], registry=r
        )
        self.pipeline_latency = Histogram(
            "framewatch_pipeline_seconds", "Time to take one item through the pipeline",
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5), registry=r,
        )  # fmt: skip
        self.last_poll = Gauge(
            "framewatch_last_poll_timestamp", "Unix time of the last poll cycle", registry=r
        )
        self._store_metrics(r)

    def _store_metrics(self, r: CollectorRegistry) -> None:
        """The store's state, apart from the sources': up, since when not, and why."""
        self.store_up = Gauge("framewatch_store_up", "1 while the store is usable", registry=r)
        self.store_up.set(1)
        self.store_down_since = Gauge(
            "framewatch_store_unusable_since_timestamp",
            "Unix time the current store outage began (0: none)", registry=r,
        )  # fmt: skip
        self.store_outages = Counter(
            "framewatch_store_outages", "Store outages (each one state)", registry=r
        )
        self.store_failures = Counter(
            "framewatch_store_failures", "Storage failures seen (outages and retries)", registry=r
        )
        self.store_error = Info(
            "framewatch_store_last_error", "The last storage failure's message", registry=r
        )
        self.lock_held = Gauge(
            "framewatch_lock_held", "1 while this service proves it holds its lock", registry=r
        )
        self.lock_held.set(1)

    def record_store(self, outage: Outage | None) -> None:
        self.store_up.set(0 if outage else 1)
        self.store_down_since.set(outage.started_at.timestamp() if outage else 0)
        if outage is not None:
            self.store_error.info({"error": outage.last_error[:200]})

    def record_poll(self, report: PollReport) -> None:
        self.polls.inc()
        self.last_poll.set(time.time())
        for feed in report.feeds:
            self.feeds_polled.labels(feed.status).inc()
            if feed.error and feed.status != "skipped":
                self.fetch_errors.labels(feed.status).inc()
            self.articles_stored.inc(feed.stored)
            for seconds in feed.item_seconds:
                self.pipeline_latency.observe(seconds)


class MetricsServer:
    """/metrics (Prometheus text format) and /healthz (200 when healthy, else 503, with
    the store's and the lock's state). ``health()`` returns /healthz's body, whose
    ``status`` is "ok" when healthy."""

    def __init__(
        self, metrics: ServiceMetrics, port: int, health: Callable[[], dict[str, Any]]
    ) -> None:
        registry = metrics.registry

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                if self.path == "/metrics":
                    self._send(200, generate_latest(registry), CONTENT_TYPE_LATEST)
                elif self.path == "/healthz":
                    state = health()
                    body = json.dumps(state, default=str).encode()
                    self._send(200 if state["status"] == "ok" else 503, body, "application/json")
                else:
                    self._send(404, b'{"error": "not found"}', "application/json")

            def _send(self, status: int, body: bytes, content_type: str) -> None:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:
                pass

        self._httpd = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    @property
    def port(self) -> int:
        return int(self._httpd.server_address[1])

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

"""Prometheus metrics of one proxy process, served at ``/metrics``.

Each app gets its own `CollectorRegistry` (not the global one) so several proxies in one
process, as in the tests, do not collide. With ``--workers N`` every worker has its own
registry; scrape each worker or run one worker per container behind the load balancer.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

_FAST = (0.0005, 0.001, 0.0025, 0.005, 0.0075, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0)
_SLOW = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0)

CONTENT_TYPE = CONTENT_TYPE_LATEST


class ProxyMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.requests = Counter(
            "dozor_guard_requests", "Chat requests by final decision and HTTP status",
            ["decision", "status", "key"], registry=r)
        self.guard_seconds = Histogram(
            "dozor_guard_check_seconds", "Time spent in guard checks per request",
            ["stage"], buckets=_FAST, registry=r)
        self.upstream_seconds = Histogram(
            "dozor_guard_upstream_seconds",
            "Upstream time per request (to the last byte)", buckets=_SLOW, registry=r)
        self.request_seconds = Histogram(
            "dozor_guard_request_seconds", "Whole request time in the proxy",
            buckets=_SLOW, registry=r)
        self.rate_limited = Counter(
            "dozor_guard_rate_limited", "Requests refused by a rate limit",
            ["limit", "key"], registry=r)
        self.limiter_errors = Counter(
            "dozor_guard_rate_limiter_errors",
            "Rate-limit checks that failed (backend down) and admitted the request",
            registry=r)
        self.stream_cut = Counter(
            "dozor_guard_streams_cut", "Streamed answers stopped by an output check",
            registry=r)
        self.inflight = Gauge(
            "dozor_guard_inflight_requests",
            "Requests being handled (a stream counts until its upstream answers)", registry=r)
        self.log_dropped = Counter(
            "dozor_guard_decision_log_dropped",
            "Decision-log events dropped (store unavailable or queue full)", registry=r)

    def render(self) -> bytes:
        return generate_latest(self.registry)

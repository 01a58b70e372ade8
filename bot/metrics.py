"""Prometheus metrics: what an operator needs to trust the daily posts.

Defined once here on a registry of Paperpost's own (so tests and several cores
in one process do not collide with the global one); served at ``/metrics``.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest

REGISTRY = CollectorRegistry(auto_describe=True)

DIGESTS_POSTED = Counter(
    "paperpost_digests_posted", "Digests the platform accepted", ["platform"], registry=REGISTRY
)
DIGESTS_FAILED = Counter(
    "paperpost_digests_failed",
    "Digests not delivered after retries",
    ["platform", "permanent"],
    registry=REGISTRY,
)
POST_SECONDS = Histogram(
    "paperpost_digest_post_seconds",
    "Time to deliver one digest, retries included",
    ["platform"],
    registry=REGISTRY,
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300),
)
SEARCH_SECONDS = Histogram(
    "paperpost_search_seconds",
    "Time to answer one search from the local index",
    registry=REGISTRY,
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1),
)
CLAIMS = Counter(
    "paperpost_delivery_claims",
    "Delivery claims by outcome: claimed (won), busy (held elsewhere), done, stale, paused",
    ["result"],
    registry=REGISTRY,
)
LEASE_TAKEOVERS = Counter(
    "paperpost_lease_takeovers",
    "Claims taken over from a holder whose lease expired or whose process died",
    registry=REGISTRY,
)
UPSTREAM_ERRORS = Counter(
    "paperpost_upstream_errors",
    "Featured days the paper source failed to deliver",
    registry=REGISTRY,
)


def render() -> bytes:
    """The metrics in Prometheus text format."""
    return generate_latest(REGISTRY)


CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

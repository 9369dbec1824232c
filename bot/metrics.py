"""What netexplain counts, exported with `prometheus_client` in Prometheus' text format (version 0.0.4).

`BotMetrics` names the series; the client feeds it from its events. Each bot has its own
`CollectorRegistry` (tests run several bots in one process), with the library's process, platform
and garbage-collector collectors, `netexplain_build_info`, and gauges read from the bot when scraped
(`watch`, `watch_shards`), so they can never go stale.
"""

from __future__ import annotations

import math
import platform
from collections.abc import Callable, Iterable, Iterator, Sequence
from importlib import metadata

import prometheus_client
from prometheus_client import CollectorRegistry, GCCollector, PlatformCollector, ProcessCollector
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

ENTRY_POINTS = ("mention", "dm", "slash", "context_menu", "watch_reply", "watch_reaction")
FINDING_KINDS = ("endpoint", "address", "network", "url", "port", "error", "term")
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
CONTENT_TYPE = prometheus_client.exposition.CONTENT_TYPE_PLAIN_0_0_4


class Counter:
    """A `prometheus_client.Counter` addressed by label values: `inc("slash")`, `value("slash")`."""

    def __init__(
        self, registry: CollectorRegistry, name: str, help_text: str, labelnames: Sequence[str] = ()
    ) -> None:
        self.name, self.labelnames, self._registry = name, tuple(labelnames), registry
        self._counter = prometheus_client.Counter(
            name.removesuffix("_total"), help_text, self.labelnames, registry=registry
        )

    def inc(self, *labels: str, amount: float = 1.0) -> None:
        """Add `amount` (≥ 0) to the series named by `labels`."""
        if len(labels) != len(self.labelnames):
            raise ValueError(f"{self.name} takes labels {self.labelnames}, got {labels}")
        (self._counter.labels(*labels) if labels else self._counter).inc(amount)

    def touch(self, *labels: str) -> None:
        """Export the series at 0 before its first increment, so `rate()` works from the start."""
        self._counter.labels(*labels)

    def value(self, *labels: str) -> float:
        """The current count of one series (0 when never incremented)."""
        found = self._registry.get_sample_value(self.name, dict(zip(self.labelnames, labels, strict=True)))
        return found or 0.0


class _ReadAtScrape(Collector):
    """Gauges whose values are read from the bot when Prometheus scrapes."""

    def __init__(self) -> None:
        self.plain: list[tuple[str, str, Callable[[], float]]] = []
        self.per_shard: list[tuple[str, str, Callable[[], Iterable[tuple[int, float]]]]] = []

    def collect(self) -> Iterator[GaugeMetricFamily]:
        for name, help_text, read in self.plain:
            yield GaugeMetricFamily(name, help_text, value=read())
        for name, help_text, read_shards in self.per_shard:
            family = GaugeMetricFamily(name, help_text, labels=["shard"])
            for shard, value in read_shards():
                if math.isfinite(value):
                    family.add_metric([str(shard)], value)
            yield family


def _version(distribution: str) -> str:
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return "unknown"


class BotMetrics:
    """What netexplain counts. Gauges read the bot through callbacks set with `watch`/`watch_shards`."""

    def __init__(self) -> None:
        self.registry = registry = CollectorRegistry()
        ProcessCollector(registry=registry)
        PlatformCollector(registry=registry)
        GCCollector(registry=registry)
        build = prometheus_client.Gauge(
            "netexplain_build_info",
            "Always 1; the labels say which netexplain, discord.py and Python run here.",
            ["version", "discord_py", "python"],
            registry=registry,
        )
        build.labels(_version("netexplain"), _version("discord.py"), platform.python_version()).set(1)
        self.messages_seen = Counter(
            registry,
            "netexplain_messages_seen_total",
            "Messages received from the gateway (not the bot's own).",
        )
        self.answers = Counter(
            registry, "netexplain_answers_total", "Answers sent, by how they were asked for.", ["entry_point"]
        )
        self.findings = Counter(
            registry, "netexplain_findings_total", "Findings in the answers sent, by kind.", ["kind"]
        )
        self.latency = prometheus_client.Histogram(
            "netexplain_answer_latency_seconds",
            "From receiving the event to the answer being sent.",
            ["entry_point"],
            buckets=LATENCY_BUCKETS,
            registry=registry,
        )
        self.reconnects = Counter(
            registry, "netexplain_gateway_reconnects_total", "Gateway sessions resumed, or identified again."
        )
        self.disconnects = Counter(
            registry, "netexplain_gateway_disconnects_total", "Gateway connections lost."
        )
        self.identifies = Counter(
            registry,
            "netexplain_gateway_identifies_total",
            "IDENTIFYs sent (session starts spent), by shard.",
            ["shard"],
        )
        self.rate_limit_hits = Counter(
            registry,
            "netexplain_rate_limit_hits_total",
            "Discord REST answers with status 429, by X-RateLimit-Scope (user, global, shared).",
            ["scope"],
        )
        self.errors = Counter(
            registry, "netexplain_errors_total", "Our own failures, logged with an apology.", ["where"]
        )
        for entry_point in ENTRY_POINTS:  # every series from the start, so rate() works on the first one
            self.answers.touch(entry_point)
        for kind in FINDING_KINDS:
            self.findings.touch(kind)
        for where in ("event", "interaction"):
            self.errors.touch(where)
        for scope in ("user", "global", "shared"):
            self.rate_limit_hits.touch(scope)
        self._read = _ReadAtScrape()
        registry.register(self._read)

    def watch(self, name: str, help_text: str, read: Callable[[], float]) -> None:
        """Add a gauge read at scrape time (`netexplain_gateway_connected`, `netexplain_guilds`, ...)."""
        self._read.plain.append((name, help_text, read))

    def watch_shards(
        self, name: str, help_text: str, read: Callable[[], Iterable[tuple[int, float]]]
    ) -> None:
        """Add a gauge with one series per shard (`shard` label), read at scrape time."""
        self._read.per_shard.append((name, help_text, read))

    def record_answer(self, entry_point: str, kinds: Iterable[str], seconds: float) -> None:
        """One answer sent: count it, its findings and its latency."""
        self.answers.inc(entry_point)
        for kind in kinds:
            self.findings.inc(kind)
        self.latency.labels(entry_point).observe(max(seconds, 0.0))

    def latency_count(self, entry_point: str) -> int:
        """How many answers' latencies were observed for `entry_point`."""
        found = self.registry.get_sample_value(
            "netexplain_answer_latency_seconds_count", {"entry_point": entry_point}
        )
        return int(found or 0)

    def render(self) -> str:
        """The text exposition format (0.0.4), as Prometheus scrapes it."""
        return prometheus_client.generate_latest(self.registry).decode()

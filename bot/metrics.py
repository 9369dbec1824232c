"""Counters and a latency histogram for `/metrics`, in Prometheus' text exposition format (version 0.0.4).

A few dozen lines instead of a `prometheus_client` dependency: the bot exposes a handful of series
from one process, and the format is small (https://prometheus.io/docs/instrumenting/exposition_formats/).
`BotMetrics` names what netexplain counts; the client feeds it from its events.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence

ENTRY_POINTS = ("mention", "dm", "slash", "context_menu", "watch_reply", "watch_reaction")
FINDING_KINDS = ("endpoint", "address", "network", "url", "port", "error", "term")
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

Labels = tuple[str, ...]


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _labels(names: Sequence[str], values: Sequence[str], extra: str = "") -> str:
    parts = [f'{name}="{_escape(value)}"' for name, value in zip(names, values, strict=True)]
    if extra:
        parts.append(extra)
    return "{" + ",".join(parts) + "}" if parts else ""


def _number(value: float) -> str:
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    return repr(float(value)) if not float(value).is_integer() else str(int(value))


class Counter:
    """A monotonically increasing count, optionally split by labels."""

    kind = "counter"

    def __init__(self, name: str, help_text: str, labelnames: Sequence[str] = ()) -> None:
        self.name, self.help, self.labelnames = name, help_text, tuple(labelnames)
        self._values: dict[Labels, float] = {} if self.labelnames else {(): 0.0}

    def inc(self, *labels: str, amount: float = 1.0) -> None:
        """Add `amount` (≥ 0) to the series named by `labels`."""
        if amount < 0:
            raise ValueError("a counter only goes up")
        if len(labels) != len(self.labelnames):
            raise ValueError(f"{self.name} takes labels {self.labelnames}, got {labels}")
        self._values[labels] = self._values.get(labels, 0.0) + amount

    def value(self, *labels: str) -> float:
        """The current count of one series (0 when never incremented)."""
        return self._values.get(labels, 0.0)

    def samples(self) -> Iterable[str]:
        for labels, value in sorted(self._values.items()):
            yield f"{self.name}{_labels(self.labelnames, labels)} {_number(value)}"


class Gauge:
    """A value read when scraped (a callback), so it can never go stale."""

    kind = "gauge"

    def __init__(self, name: str, help_text: str, read: Callable[[], float]) -> None:
        self.name, self.help, self._read = name, help_text, read

    def samples(self) -> Iterable[str]:
        yield f"{self.name} {_number(self._read())}"


class Histogram:
    """Observations counted into cumulative buckets, with their sum and count."""

    kind = "histogram"

    def __init__(
        self, name: str, help_text: str, labelnames: Sequence[str] = (), buckets: Sequence[float] = ()
    ) -> None:
        self.name, self.help, self.labelnames = name, help_text, tuple(labelnames)
        self.buckets = tuple(sorted(buckets or LATENCY_BUCKETS))
        self._counts: dict[Labels, list[int]] = {}
        self._sums: dict[Labels, float] = {}

    def observe(self, value: float, *labels: str) -> None:
        """Count one observation."""
        if len(labels) != len(self.labelnames):
            raise ValueError(f"{self.name} takes labels {self.labelnames}, got {labels}")
        counts = self._counts.setdefault(labels, [0] * (len(self.buckets) + 1))
        for i, bound in enumerate(self.buckets):
            if value <= bound:
                counts[i] += 1
        counts[-1] += 1  # +Inf
        self._sums[labels] = self._sums.get(labels, 0.0) + value

    def count(self, *labels: str) -> int:
        """How many observations one series has."""
        return self._counts.get(labels, [0])[-1]

    def samples(self) -> Iterable[str]:
        for labels, counts in sorted(self._counts.items()):
            for bound, count in zip((*self.buckets, math.inf), counts, strict=True):
                le = f'le="{_number(bound)}"'
                yield f"{self.name}_bucket{_labels(self.labelnames, labels, le)} {count}"
            yield f"{self.name}_sum{_labels(self.labelnames, labels)} {_number(self._sums[labels])}"
            yield f"{self.name}_count{_labels(self.labelnames, labels)} {counts[-1]}"


Metric = Counter | Gauge | Histogram


class BotMetrics:
    """What netexplain counts. Gauges read the bot through callbacks set with `watch`."""

    def __init__(self) -> None:
        self.messages_seen = Counter(
            "netexplain_messages_seen_total", "Messages received from the gateway (not the bot's own)."
        )
        self.answers = Counter(
            "netexplain_answers_total", "Answers sent, by how they were asked for.", ["entry_point"]
        )
        self.findings = Counter(
            "netexplain_findings_total", "Findings in the answers sent, by kind.", ["kind"]
        )
        self.latency = Histogram(
            "netexplain_answer_latency_seconds",
            "From receiving the event to the answer being sent.",
            ["entry_point"],
        )
        self.reconnects = Counter(
            "netexplain_gateway_reconnects_total",
            "Gateway sessions resumed, or identified again.",
        )
        self.disconnects = Counter("netexplain_gateway_disconnects_total", "Gateway connections lost.")
        self.errors = Counter(
            "netexplain_errors_total", "Our own failures, logged with an apology.", ["where"]
        )
        for entry_point in ENTRY_POINTS:  # every series from the start, so rate() works on the first one
            self.answers._values[(entry_point,)] = 0.0
        for kind in FINDING_KINDS:
            self.findings._values[(kind,)] = 0.0
        for where in ("event", "interaction"):
            self.errors._values[(where,)] = 0.0
        self._gauges: list[Gauge] = []

    def watch(self, name: str, help_text: str, read: Callable[[], float]) -> None:
        """Add a gauge read at scrape time (`netexplain_gateway_connected`, `netexplain_guilds`, ...)."""
        self._gauges.append(Gauge(name, help_text, read))

    def record_answer(self, entry_point: str, kinds: Iterable[str], seconds: float) -> None:
        """One answer sent: count it, its findings and its latency."""
        self.answers.inc(entry_point)
        for kind in kinds:
            self.findings.inc(kind)
        self.latency.observe(max(seconds, 0.0), entry_point)

    def metrics(self) -> list[Metric]:
        return [
            self.messages_seen,
            self.answers,
            self.findings,
            self.latency,
            self.reconnects,
            self.disconnects,
            self.errors,
            *self._gauges,
        ]

    def render(self) -> str:
        """The text exposition format: `# HELP`, `# TYPE`, then the samples of each metric."""
        lines: list[str] = []
        for metric in self.metrics():
            lines.append(f"# HELP {metric.name} {_escape(metric.help)}")
            lines.append(f"# TYPE {metric.name} {metric.kind}")
            lines.extend(metric.samples())
        return "\n".join(lines) + "\n"


CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

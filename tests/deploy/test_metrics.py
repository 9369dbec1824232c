"""`/metrics`: the exposition parses as Prometheus text, and the bot's events move the right series."""

from __future__ import annotations

import math
import time
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from bot.client import NetexplainBot, create_bot
from bot.cogs._answering import announce_answer
from bot.config import Config, ShardRange
from bot.core import explain
from bot.core.knowledge import Knowledge
from bot.metrics import ENTRY_POINTS, BotMetrics, Counter, Histogram
from bot.store import SQLiteSettingsStore


def parsed(text: str) -> dict[str, dict[tuple[tuple[str, str], ...], float]]:
    """Sample name → labels → value, as Prometheus' own parser reads it."""
    out: dict[str, dict[tuple[tuple[str, str], ...], float]] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            out.setdefault(sample.name, {})[tuple(sorted(sample.labels.items()))] = sample.value
    return out


def test_every_entry_point_is_exported_from_the_start() -> None:
    samples = parsed(BotMetrics().render())
    answers = samples["netexplain_answers_total"]
    assert {dict(labels)["entry_point"] for labels in answers} == set(ENTRY_POINTS)
    assert set(answers.values()) == {0.0}
    assert samples["netexplain_messages_seen_total"][()] == 0


def test_histogram_buckets_are_cumulative_with_sum_and_count() -> None:
    histogram = Histogram("h_seconds", "test", ["entry_point"], buckets=[0.1, 1.0])
    for value in (0.05, 0.5, 0.5, 3.0):
        histogram.observe(value, "dm")
    lines = list(histogram.samples())
    assert 'h_seconds_bucket{entry_point="dm",le="0.1"} 1' in lines
    assert 'h_seconds_bucket{entry_point="dm",le="1"} 3' in lines
    assert 'h_seconds_bucket{entry_point="dm",le="+Inf"} 4' in lines
    assert 'h_seconds_count{entry_point="dm"} 4' in lines
    assert math.isclose(float(lines[-2].rsplit(" ", 1)[1]), 4.05)


def test_label_values_are_escaped_and_counters_only_go_up() -> None:
    counter = Counter("c_total", "test", ["where"])
    counter.inc('a "quoted"\\ value\n')
    assert parsed("# TYPE c_total counter\n" + "\n".join(counter.samples()) + "\n")["c_total"] == {
        (("where", 'a "quoted"\\ value\n'),): 1.0
    }
    with pytest.raises(ValueError):
        counter.inc("x", amount=-1)
    with pytest.raises(ValueError):
        counter.inc()  # missing label


async def test_the_answer_event_counts_answers_findings_and_latency(kb: Knowledge, tmp_path: Path) -> None:
    bot = NetexplainBot(
        Config(db_path=tmp_path / "s.sqlite3"), store=await SQLiteSettingsStore(":memory:").open()
    )
    explanation = explain("connect ECONNREFUSED 127.0.0.1:5432", kb)
    kinds = sorted(f.kind for f in explanation.findings)
    # The cogs announce every answer: the metrics count it at once, then ANSWER_EVENT is dispatched
    # to listeners (tests/bot/test_in_process.py listens to it).
    announce_answer(bot, "slash", explanation, received=time.perf_counter() - 0.042)
    announce_answer(bot, "slash", explanation, received=time.perf_counter() - 0.3)
    metrics = bot.metrics
    assert metrics.answers.value("slash") == 2 and metrics.answers.value("mention") == 0
    for kind in set(kinds):
        assert metrics.findings.value(kind) == 2 * kinds.count(kind)
    samples = parsed(metrics.render())
    buckets = samples["netexplain_answer_latency_seconds_bucket"]
    assert buckets[(("entry_point", "slash"), ("le", "0.05"))] == 1
    assert buckets[(("entry_point", "slash"), ("le", "0.5"))] == 2
    assert samples["netexplain_gateway_connected"][()] == 0  # never connected
    await bot.close()


async def test_errors_and_reconnects_are_counted(tmp_path: Path) -> None:
    bot = NetexplainBot(
        Config(db_path=tmp_path / "s.sqlite3"), store=await SQLiteSettingsStore(":memory:").open()
    )
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        await bot.on_error("on_message")  # what discord.py calls from inside the except block
    await bot.on_connect()  # the first READY is not a reconnect
    await bot.on_disconnect()
    await bot.on_connect()
    await bot.on_resumed()
    assert bot.metrics.errors.value("event") == 1
    assert bot.metrics.disconnects.value() == 1
    assert bot.metrics.reconnects.value() == 2
    await bot.close()


async def test_a_shard_range_makes_a_sharded_bot_and_each_first_ready_is_no_reconnect(tmp_path: Path) -> None:
    config = Config(db_path=tmp_path / "s.sqlite3", shards=ShardRange(4, 7, 16))
    bot = create_bot(config, store=await SQLiteSettingsStore(":memory:").open())
    assert bot.shard_count_here == 4 and bot.shard_ids == [4, 5, 6, 7] and bot.shard_count == 16
    for _ in range(4):
        await bot.on_connect()
    assert bot.metrics.reconnects.value() == 0
    await bot.on_connect()
    assert bot.metrics.reconnects.value() == 1
    await bot.close()
    plain = create_bot(Config(db_path=tmp_path / "s.sqlite3"))
    assert type(plain) is NetexplainBot and plain.shard_count_here == 1

"""`/metrics`: the exposition parses as Prometheus text, and the bot's events move the right series."""

from __future__ import annotations

import math
import time
from importlib import metadata
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from bot.client import NetexplainBot, create_bot
from bot.cogs._answering import announce_answer
from bot.config import Config, ShardRange
from bot.core import explain
from bot.core.knowledge import Knowledge
from bot.metrics import ENTRY_POINTS, BotMetrics
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


def test_process_metrics_build_info_and_series_names_are_exported() -> None:
    samples = parsed(BotMetrics().render())
    assert samples["process_resident_memory_bytes"][()] > 0  # prometheus_client's process collector
    assert samples["process_open_fds"][()] >= 3
    assert any(name.startswith("python_gc_") for name in samples)
    ((labels, value),) = samples["netexplain_build_info"].items()
    assert value == 1 and dict(labels)["version"] == metadata.version("netexplain")
    assert dict(labels)["discord_py"] == metadata.version("discord.py")
    for kept in (  # the names dashboards already use
        "netexplain_messages_seen_total",
        "netexplain_answers_total",
        "netexplain_findings_total",
        "netexplain_gateway_reconnects_total",
        "netexplain_gateway_disconnects_total",
        "netexplain_errors_total",
        "netexplain_rate_limit_hits_total",
    ):
        assert kept in samples, kept


def test_counters_only_go_up_and_take_their_labels() -> None:
    metrics = BotMetrics()
    metrics.errors.inc("event", amount=2)
    assert metrics.errors.value("event") == 2 and metrics.errors.value("interaction") == 0
    with pytest.raises(ValueError):
        metrics.errors.inc("event", amount=-1)
    with pytest.raises(ValueError):
        metrics.errors.inc()  # missing label


def test_histogram_buckets_are_cumulative_with_sum_and_count() -> None:
    metrics = BotMetrics()
    for value in (0.004, 0.3, 0.3, 30.0):
        metrics.record_answer("dm", [], value)
    buckets = parsed(metrics.render())["netexplain_answer_latency_seconds_bucket"]
    assert buckets[(("entry_point", "dm"), ("le", "0.005"))] == 1
    assert buckets[(("entry_point", "dm"), ("le", "0.5"))] == 3
    assert buckets[(("entry_point", "dm"), ("le", "+Inf"))] == 4
    assert metrics.latency_count("dm") == 4
    assert math.isclose(
        parsed(metrics.render())["netexplain_answer_latency_seconds_sum"][(("entry_point", "dm"),)], 30.604
    )


def test_per_shard_gauges_carry_a_shard_label_and_skip_unknown_values() -> None:
    metrics = BotMetrics()
    metrics.watch_shards("netexplain_gateway_latency_seconds", "test", lambda: [(0, 0.042), (1, math.inf)])
    latency = parsed(metrics.render())["netexplain_gateway_latency_seconds"]
    assert latency == {(("shard", "0"),): 0.042}


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
    samples = parsed(bot.metrics.render())
    assert samples["netexplain_shards"][()] == 4 and samples["netexplain_shard_count"][()] == 16
    assert samples["netexplain_shard_connected"] == {(("shard", str(s)),): 0 for s in (4, 5, 6, 7)}
    await bot.close()


async def test_without_a_range_the_bot_asks_discord_for_the_count(tmp_path: Path) -> None:
    plain = create_bot(
        Config(db_path=tmp_path / "s.sqlite3"), store=await SQLiteSettingsStore(":memory:").open()
    )
    assert plain.shard_ids is None and plain.shard_count is None  # launch_shards asks /gateway/bot
    assert parsed(plain.metrics.render())["netexplain_shard_count"][()] == 0
    await plain.close()

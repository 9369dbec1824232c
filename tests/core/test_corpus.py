"""The development corpus (real chat and log text with the facts it must state) as a scored test.

The score is printed (visible with `pytest -s`, and attached to the test's report as properties);
the floors sit a little below today's figures so that a regression fails but a new hard row does not.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from bot.core.knowledge import Knowledge
from tests.core.corpus import Score, load_corpus, score

FLOORS = {"endpoints": 0.97, "categories": 0.99, "ranges": 0.99, "errors": 0.94, "triggered": 0.98}


@pytest.fixture(scope="module")
def result(kb: Knowledge) -> Score:
    return score(kb)


def ratios(s: Score) -> dict[str, float]:
    return {
        "endpoints": s.endpoints_found / max(s.endpoints, 1),
        "categories": s.categories_right / max(s.endpoints_found, 1),
        "ranges": s.ranges_right / max(s.endpoints_found, 1),
        "errors": s.errors_found / max(s.errors, 1),
        "triggered": s.triggered / max(s.rows, 1),
    }


def test_the_corpus_is_there_and_covers_endpoints_and_errors(result: Score) -> None:
    assert result.rows == len(load_corpus()) >= 300
    assert result.endpoints >= 300
    assert result.errors >= 200


def test_dev_corpus_score_stays_above_its_floors(
    result: Score, record_property: Callable[[str, object], None]
) -> None:
    got = ratios(result)
    print(f"\ndev corpus: {result.report()}")
    for miss in result.misses:
        print(f"  miss: {miss}")
    record_property("dev_corpus", result.report())
    for name, value in got.items():
        record_property(name, f"{value:.3f}")
    below = {name: f"{got[name]:.3f} < {floor}" for name, floor in FLOORS.items() if got[name] < floor}
    assert not below, f"{below}; misses: {result.misses}"

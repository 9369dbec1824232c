"""Scores the core against the development corpus: real chat and log text with the facts it must state."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot.core import explain
from bot.core.knowledge import Knowledge

CORPUS = Path(__file__).resolve().parent.parent / "data" / "dev-corpus.jsonl"


def load_corpus() -> list[dict[str, Any]]:
    """Every row of the development corpus."""
    return [json.loads(line) for line in CORPUS.read_text(encoding="utf-8").splitlines() if line.strip()]


@dataclass
class Score:
    """How many expected facts the core stated, with the misses for the report."""

    endpoints: int = 0
    endpoints_found: int = 0
    categories_right: int = 0
    ranges_right: int = 0
    errors: int = 0
    errors_found: int = 0
    triggered: int = 0
    rows: int = 0
    misses: list[str] = field(default_factory=list)

    def report(self) -> str:
        def pct(a: int, b: int) -> str:
            return f"{a}/{b} ({100 * a / max(b, 1):.0f}%)"

        return (
            f"endpoints {pct(self.endpoints_found, self.endpoints)}; categories right "
            f"{pct(self.categories_right, self.endpoints_found)}; port ranges right "
            f"{pct(self.ranges_right, self.endpoints_found)}; errors {pct(self.errors_found, self.errors)}; "
            f"triggered {pct(self.triggered, self.rows)}"
        )


def _matches(expected: dict[str, Any], finding: dict[str, Any]) -> bool:
    port = finding.get("port") or {}
    if expected["port"] is not None and port.get("number") != expected["port"]:
        return False
    address = finding.get("address") or {}
    if expected["ip"] is not None:
        return bool(address.get("ip")) and address["ip"] == expected["ip"]
    if expected["host"] is not None:
        return finding.get("host") == expected["host"]
    return expected["port"] is not None


def score(kb: Knowledge) -> Score:
    """Run every corpus row through `explain` and count the facts it got."""
    result = Score()
    for row in load_corpus():
        exp = explain(row["text"], kb).to_json()
        expect = row["expect"]
        result.rows += 1
        result.triggered += exp["triggered"] == expect["should_trigger"]
        found = [f for f in exp["findings"] if f["kind"] in ("endpoint", "address", "url", "port")]
        for e in expect["endpoints"]:
            result.endpoints += 1
            hit = next((f for f in found if _matches(e, f)), None)
            if hit is None:
                result.misses.append(f"{row['id']}: endpoint {e['ip'] or e['host']}:{e['port']}")
                continue
            result.endpoints_found += 1
            category = (hit.get("address") or {}).get("category")
            result.categories_right += (
                e["category"] is None or category == e["category"] or not (e["ip"] or e["host"])
            )
            port_range = (hit.get("port") or {}).get("range")
            result.ranges_right += e["port_range"] is None or port_range == e["port_range"]
            if e["category"] is not None and category != e["category"] and (e["ip"] or e["host"]):
                result.misses.append(f"{row['id']}: category {category} != {e['category']}")
        symbols = {f["error"] for f in exp["findings"] if f["kind"] == "error"}
        for err in expect["errors"]:
            result.errors += 1
            if err in symbols:
                result.errors_found += 1
            else:
                result.misses.append(f"{row['id']}: error {err}")
    return result

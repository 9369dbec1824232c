"""The issue's headline example, `127.0.0.1:62893`, against the JSON contract field by field."""

from __future__ import annotations

import json
from typing import Any

import pytest

from bot.core import explain
from bot.core.knowledge import Knowledge

QUERY = "127.0.0.1:62893"


@pytest.fixture(scope="module")
def doc(kb: Knowledge) -> dict[str, Any]:
    """The explanation as the JSON the command line prints (round-tripped through `json`)."""
    return json.loads(json.dumps(explain(QUERY, kb).to_json()))


@pytest.fixture(scope="module")
def finding(doc: dict[str, Any]) -> dict[str, Any]:
    assert len(doc["findings"]) == 1, doc["findings"]
    return doc["findings"][0]


def test_top_level_keys_are_exactly_the_contract(doc: dict[str, Any]) -> None:
    assert set(doc) == {"query", "triggered", "findings", "diagnosis", "answer"}
    assert doc["query"] == QUERY


def test_62893_triggers_an_unasked_answer(doc: dict[str, Any]) -> None:
    assert doc["triggered"] is True


def test_the_whole_text_is_one_endpoint_with_an_exact_span(finding: dict[str, Any]) -> None:
    assert finding["kind"] == "endpoint"
    assert finding["text"] == QUERY
    assert finding["span"] == [0, len(QUERY)]


def test_an_ip_literal_has_no_host_name(finding: dict[str, Any]) -> None:
    assert "host" in finding
    assert finding["host"] is None


def test_127_0_0_1_is_ipv4_loopback(finding: dict[str, Any]) -> None:
    assert finding["address"] == {"ip": "127.0.0.1", "version": 4, "category": "loopback"}


def test_62893_is_dynamic_but_outside_linux_default_range(finding: dict[str, Any]) -> None:
    port = finding["port"]
    assert port["number"] == 62893
    assert port["range"] == "dynamic"
    assert port["ephemeral_on"] == ["freebsd", "macos", "windows"]
    assert "linux" not in port["ephemeral_on"]


def test_62893_has_no_registered_or_known_service(finding: dict[str, Any]) -> None:
    assert finding["port"]["services"] == []


def test_the_port_object_has_exactly_the_contract_keys(finding: dict[str, Any]) -> None:
    assert set(finding["port"]) == {"number", "range", "ephemeral_on", "services"}
    assert set(finding["address"]) == {"ip", "version", "category"}


def test_answer_has_title_summary_sections_and_references(doc: dict[str, Any]) -> None:
    answer = doc["answer"]
    assert set(answer) == {"title", "summary", "sections", "references"}
    assert answer["title"].strip()
    assert answer["summary"].strip()
    assert answer["sections"], "an answer needs sections"
    for section in answer["sections"]:
        assert section["heading"].strip() and section["body"].strip()
    assert answer["references"], "an answer rests on sources"
    for ref in answer["references"]:
        assert ref["title"].strip()
        assert ref["url"].startswith("https://")


def test_summary_says_loopback_and_linux_default_range(doc: dict[str, Any]) -> None:
    summary = doc["answer"]["summary"]
    assert "loopback" in summary.lower()
    assert "Linux" in summary
    assert "32768–60999" in summary


def test_summary_is_short(doc: dict[str, Any]) -> None:
    # "a one- or two-sentence summary": allow for the address and the port parts, not an essay.
    assert len(doc["answer"]["summary"]) <= 600


def test_what_it_is_section_says_127_0_0_0_8_is_all_loopback(doc: dict[str, Any]) -> None:
    bodies = " ".join(s["body"] for s in doc["answer"]["sections"])
    assert "127.0.0.0/8" in bodies


def test_references_cite_iana_registries_and_rfc_6335(doc: dict[str, Any]) -> None:
    urls = [r["url"] for r in doc["answer"]["references"]]
    assert any("iana-ipv4-special-registry" in u for u in urls)
    assert any("rfc6335" in u for u in urls)


@pytest.mark.parametrize("os_id", ["linux", "macos", "windows"])
def test_a_per_os_section_has_a_command_naming_62893(doc: dict[str, Any], os_id: str) -> None:
    sections = [s for s in doc["answer"]["sections"] if s.get("os") == os_id]
    assert len(sections) == 1, f"no {os_id} section"
    assert "62893" in sections[0]["body"]
    assert "`" in sections[0]["body"], "commands are shown as code"

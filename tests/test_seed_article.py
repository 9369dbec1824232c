"""The seed article's remaining concepts are explained, and its mistakes are corrected, not repeated.

`tests/kb/test_schema.py` covers its core terms and ports; this file covers the concepts from its
"why it matters" and "use cases" sections.
"""

from __future__ import annotations

import pytest

from bot.core import explain
from bot.core.knowledge import Knowledge

USE_CASE_CONCEPTS = [
    ("How do I use loopback for network troubleshooting?", "loopback-troubleshooting"),
    ("does the network stack route 127.0.0.1 back to itself?", "loopback-troubleshooting"),
    ("my database server runs locally", "local-service"),
    ("our internal APIs on the same machine", "local-service"),
    ("local testing before going online", "local-development-server"),
    ("XAMPP, WAMP or MAMP", "local-development-server"),
]


@pytest.mark.parametrize(("text", "entry_id"), USE_CASE_CONCEPTS)
def test_use_case_concept_is_explained(text: str, entry_id: str, kb: Knowledge) -> None:
    exp = explain(text, kb)
    assert entry_id in {f.term for f in exp.findings}
    assert entry_id in exp.answer.entry_ids


def test_dynamic_ports_are_not_1024_to_65535(kb: Knowledge) -> None:
    """The article says dynamic ports span 1024-65535; RFC 6335 says 49152-65535."""
    summary = explain("what are dynamic ports?", kb).answer.summary
    assert "49152-65535" in summary
    assert "not 1024-65535" in summary


def test_a_database_is_said_to_use_a_fixed_port_not_a_random_one(kb: Knowledge) -> None:
    """The article suggests a database might listen on 62893; servers use configured, fixed ports."""
    entry = kb.entries["local-service"]
    assert "fixed" in entry.summary and "5432" in entry.summary
    assert "random" in entry.summary


def test_troubleshooting_entry_says_what_a_loopback_ping_does_not_prove(kb: Knowledge) -> None:
    what = kb.entries["loopback-troubleshooting"].what
    assert "ping 127.0.0.1" in what
    assert "says nothing" in what

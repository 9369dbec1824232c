"""Answers read well: each per-OS command once, and "an" before labels that need it."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from bot.core import explain
from bot.core.knowledge import Knowledge

CORPUS = [json.loads(line)["text"] for line in (Path(__file__).parents[1] / "data/dev-corpus.jsonl").open()]
ADDRESSES = [
    "0.0.0.0:8000", "[::]:3000", "192.0.0.9", "::ffff:127.0.0.1", "256.1.1.1", "127.0.0.1", "fd00::1",
]  # fmt: skip


@pytest.mark.parametrize("text", [*CORPUS, "connect ECONNREFUSED ::1:5432"])
def test_each_command_is_listed_once_per_os(text: str, kb: Knowledge) -> None:
    for section in explain(text, kb).answer.sections:
        if section.os is None:
            continue
        commands = [line.split(" — ", 1)[0] for line in section.body.split("\n")]
        assert len(commands) == len(set(commands)), (section.heading, commands)


@pytest.mark.parametrize("text", ADDRESSES)
def test_labels_take_the_right_article(text: str, kb: Knowledge) -> None:
    summary = explain(text, kb).answer.summary
    assert not re.search(r"\ba (unspecified|invalid|IETF|IPv4)\b", summary), summary
    assert not re.search(r"\ban (loopback|private|unique|link|public|documentation)\b", summary), summary


def test_unspecified_and_loopback_read_naturally(kb: Knowledge) -> None:
    assert "is an unspecified (all interfaces) address" in explain("0.0.0.0:8000", kb).answer.summary
    assert "is a loopback address" in explain("127.0.0.1:62893", kb).answer.summary


def test_a_network_that_is_a_registry_block_is_not_said_to_lie_in_itself(kb: Knowledge) -> None:
    whole = explain("10.0.0.0/8", kb).answer.summary
    assert "It is the registry's Private-Use block (RFC 1918)." in whole
    assert "lies in 10.0.0.0/8" not in whole
    assert "It lies in 10.0.0.0/8, Private-Use." in explain("10.1.0.0/16", kb).answer.summary


def _what_to_do(text: str, kb: Knowledge) -> str:
    [do] = [s.body for s in explain(text, kb).answer.sections if s.heading == "What to do"]
    return do


def test_the_program_named_on_the_line_gives_the_advice_not_a_guess_from_the_port(kb: Knowledge) -> None:
    # 8080 is webpack-dev-server's port too; the line says Spring Boot's Tomcat is the one listening.
    assert (
        _what_to_do("Tomcat started on port 8080 (http) with context path '/'", kb)
        == kb.entries["spring-boot"].do
    )


def test_a_port_several_programs_use_gets_the_advice_to_see_which_listens(kb: Knowledge) -> None:
    owners = {d.entry for d in kb.dev_ports_for(8080)}
    assert len(owners) > 1  # webpack-dev-server, Spring Boot, .NET
    assert _what_to_do("[::1]:8080", kb) == kb.entries["listening"].do
    assert _what_to_do("http://localhost:5173", kb) == kb.entries["vite"].do  # Vite's alone


@pytest.mark.parametrize(
    ("text", "entry_id"),
    [("169.254.169.254", "instance-metadata"), ("curl http://169.254.169.254/latest/", "instance-metadata"),
     ("10.0.2.2:8000", "android-emulator-networking")],
)  # fmt: skip
def test_an_address_with_a_meaning_of_its_own_is_explained_as_that(
    text: str, entry_id: str, kb: Knowledge
) -> None:
    # 169.254.169.254 is link-local, but "renew your DHCP lease" is the wrong advice for it.
    entry = kb.entries[entry_id]
    exp = explain(text, kb)
    address = text.split("//")[-1].split("/")[0].split(":")[0]
    assert f"`{address}`" in exp.answer.title  # the lead is about this address
    assert "dhcp" not in (exp.answer.summary + _what_to_do(text, kb)).lower()
    [part] = [p for p in exp.parts if p.title.startswith(address) or address in p.title.split(" — ")[0]]
    said = " ".join([part.summary, *(s.body for s in part.sections)])
    assert entry.summary.split(". ")[0] in said  # its full answer, behind More, is the entry's
    assert {s.heading: s.body for s in part.sections}["What to do"] == entry.do
    assert {s.url for s in entry.sources} <= {r.url for r in part.references}  # every page it cites


def test_a_busy_port_summary_names_a_few_programs_and_counts_the_rest(kb: Knowledge) -> None:
    users = list(dict.fromkeys(d.program for d in kb.dev_ports_for(8080)))
    assert len(users) > 4
    answer = explain("port 8080", kb).answer
    assert f"{users[0]}, {users[1]}, {users[2]} or one of {len(users) - 3} other programs." in answer.summary
    assert users[-1] not in answer.summary
    [means] = [s.body for s in answer.sections if s.heading == "What it means for you"]
    assert all(user in means for user in users)  # the section still names every one


def test_a_port_with_one_program_names_it_plainly(kb: Knowledge) -> None:
    assert "It usually means PostgreSQL." in explain("port 5432", kb).answer.summary


def test_eacces_is_not_only_about_bind(kb: Knowledge) -> None:
    # EACCES after a send to a broadcast address means SO_BROADCAST is not set, not a privileged port.
    text = "Error: send EACCES 255.255.255.255:41234"  # Node's dgram
    answer = explain(text, kb).answer
    assert "bind" not in answer.title.lower() and "1024" not in answer.title
    assert "setBroadcast(true)" in _what_to_do(text, kb)
    assert "broadcast" in answer.summary


def test_eacces_on_a_low_port_says_how_to_bind_it(kb: Knowledge) -> None:
    text = "Error: listen EACCES: permission denied 0.0.0.0:80"
    answer = explain(text, kb).answer
    assert "80" in answer.title and "1024" in answer.title + answer.summary
    assert "cap_net_bind_service" in _what_to_do(text, kb)


@pytest.mark.parametrize(
    "text",
    [
        "https://localhost:3000 gives ERR_SSL_PROTOCOL_ERROR",  # Chrome, Edge
        "SSL_ERROR_RX_RECORD_TOO_LONG on https://localhost:5173",  # Firefox
        "curl: (35) OpenSSL/3.0.13: error:0A00010B:SSL routines::wrong version number",  # OpenSSL 3
        "error:1408F10B:SSL routines:ssl3_get_record:wrong version number",  # OpenSSL 1.1
        "error:0A0000C6:SSL routines::packet length too long",  # some OpenSSL releases from 3.2 on
    ],
)
def test_https_to_a_plain_http_port_leads_the_answer(text: str, kb: Knowledge) -> None:
    exp = explain(text, kb)
    # before the endpoint's answer: the URL in the paste speaks plain HTTP, or the error's own entry
    if "https://localhost:" in text:
        url = "https://localhost:" + text.rsplit(":", 1)[1].split()[0]
        assert url in exp.answer.title and "plain HTTP" in exp.answer.title
    else:
        assert exp.answer.title.startswith(kb.entries["err-ssl-protocol-error"].title) or exp.diagnoses
    assert exp.triggered
    assert "http://" in exp.answer.summary


def test_a_wrong_version_number_in_prose_is_not_a_tls_error(kb: Knowledge) -> None:
    assert explain("I had the wrong version number of node installed", kb).findings == ()


def test_an_ambiguous_unbracketed_ipv6_endpoint_is_said_to_be_ambiguous(kb: Knowledge) -> None:
    text = "listening port 2001:db8:85a3::8a2e:370:7334:8080"
    exp = explain(text, kb)
    assert len([f for f in exp.findings if f.ambiguity]) == 1
    said = " ".join([exp.answer.summary, *(s.body for s in exp.answer.sections)])
    assert "ambiguous" in said and "[2001:db8:85a3::8a2e:370:7334]:8080" in said

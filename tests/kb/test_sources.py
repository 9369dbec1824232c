"""The knowledge base's facts agree with the registries and system headers shipped or installed here:
the IANA names quoted in the curated port notes, the Linux error numbers, and the RFCs that each
special-purpose address block names are all checked against their source, not against a copy.
"""

from __future__ import annotations

import csv
import errno
import re
import socket
import sys
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.kb import knowledge_dir

DYNAMIC_RANGE_START = 49152  # RFC 6335, section 6
_NAMED = re.compile(r"IANA name: (?P<names>[^.(]+?)(?: \(.*\))?\.$")
_UNNAMED = re.compile(r"IANA: (?P<state>unassigned|reserved|dynamic range, never assigned)\.$")


def _load(name: str) -> Any:
    return yaml.safe_load((knowledge_dir() / name).read_text(encoding="utf-8"))


@cache
def _registry_rows() -> tuple[tuple[str, int, int, str, str], ...]:
    """(name, first, last, protocol, description) for every IANA row that has a port."""
    path: Path = knowledge_dir() / "data" / "iana-service-names-port-numbers.csv"
    rows = []
    with path.open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            ports = row["Port Number"]
            if not ports:
                continue
            first, _, last = ports.partition("-")
            rows.append(
                (
                    row["Service Name"],
                    int(first),
                    int(last or first),
                    row["Transport Protocol"],
                    row["Description"],
                )
            )
    return tuple(rows)


def _covering(port: int, protocol: str) -> list[tuple[str, str]]:
    return [
        (name, description)
        for name, first, last, proto, description in _registry_rows()
        if proto == protocol and first <= port <= last
    ]


def _port_items() -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = _load("ports.yaml")
    return items


@pytest.mark.parametrize("item", _port_items(), ids=lambda item: f"{item['port']}/{item['protocol']}")
def test_the_iana_state_each_port_note_quotes_is_the_registrys(item: dict[str, Any]) -> None:
    port, protocol, note = item["port"], item["protocol"], item["note"].strip()
    rows = _covering(port, protocol)
    named = _NAMED.search(note)
    unnamed = _UNNAMED.search(note)
    assert named or unnamed, f"{port}/{protocol}: the note does not end with the IANA state: {note!r}"
    if named:
        quoted = {name.strip() for name in named["names"].split(",")}
        assert quoted == {name for name, _ in rows if name}, f"{port}/{protocol}: {note!r} vs {rows}"
    elif unnamed and unnamed["state"] == "reserved":
        assert rows and all(not name and "Reserved" in description for name, description in rows), rows
    elif unnamed and unnamed["state"] == "unassigned":
        assert port < DYNAMIC_RANGE_START and not rows, f"{port}/{protocol} is in the registry: {rows}"
    else:
        assert port >= DYNAMIC_RANGE_START and not rows, f"{port}/{protocol}: {rows}"


def _error_entries() -> list[dict[str, Any]]:
    return [
        yaml.safe_load(path.read_text(encoding="utf-8"))
        for path in sorted((knowledge_dir() / "errors").glob("*.yaml"))
    ]


@pytest.mark.skipif(sys.platform != "linux", reason="the Linux numbers are checked against Linux's C library")
@pytest.mark.parametrize("entry", _error_entries(), ids=lambda entry: entry["symbol"])
def test_the_linux_number_of_each_error_is_the_c_librarys(entry: dict[str, Any]) -> None:
    symbol = entry["symbol"]
    if symbol == "ENOTFOUND":  # Node's name for getaddrinfo's EAI_NONAME
        expected = socket.EAI_NONAME
    elif symbol.startswith("EAI_"):
        expected = getattr(socket, symbol)
    elif hasattr(errno, symbol):
        expected = getattr(errno, symbol)
    else:  # not an errno (ERR_SSL_PROTOCOL_ERROR, a browser's name): it must not claim a Linux number
        assert "linux" not in entry.get("codes", {}), symbol
        return
    assert entry["codes"]["linux"] == expected


def _address_blocks() -> list[dict[str, Any]]:
    blocks: list[dict[str, Any]] = _load("addresses.yaml")
    return [block for block in blocks if block.get("rfc")]


@pytest.mark.parametrize("block", _address_blocks(), ids=lambda block: block["prefix"])
def test_every_rfc_an_address_block_names_is_among_its_sources(block: dict[str, Any]) -> None:
    named = set(re.findall(r"RFC ?(\d+)", block["rfc"]))
    cited = {m[1] for s in block["sources"] if (m := re.search(r"rfc-editor\.org/rfc/rfc(\d+)", s["url"]))}
    assert named <= cited, f"{block['prefix']}: names RFC {sorted(named - cited)} without citing it"

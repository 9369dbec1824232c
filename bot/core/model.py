"""Plain, immutable values that flow through the core: findings in, an answer out.

Nothing here knows about Discord, terminals or YAML. Every front end renders an `Answer`.
"""

from __future__ import annotations

from typing import Any, Literal, NamedTuple

from bot.core.credentials import redact_credentials

FindingKind = Literal["endpoint", "address", "network", "url", "port", "error", "term"]
AddressCategory = Literal[
    "loopback",
    "private",
    "shared",
    "link-local",
    "multicast",
    "documentation",
    "unspecified",
    "broadcast",
    "benchmarking",
    "reserved",
    "this-network",
    "ietf-protocol",
    "unique-local",
    "ipv4-mapped",
    "nat64",
    "teredo",
    "6to4",
    "discard",
    "public",
    "invalid",
]
PortRange = Literal["well-known", "registered", "dynamic", "invalid"]
OsId = Literal["freebsd", "linux", "macos", "windows"]
OS_IDS: tuple[OsId, ...] = ("freebsd", "linux", "macos", "windows")


class AddressInfo(NamedTuple):
    """A classified IP address (or the name `localhost`, which has no single ip)."""

    ip: str | None
    version: int | None
    category: AddressCategory
    block: str | None = None  # the registry block that decided the category, e.g. "127.0.0.0/8"
    block_name: str | None = None  # the registry's name for that block
    entry_id: str | None = None  # the knowledge entry that explains the block
    reason: str | None = None  # why an address is invalid

    def to_json(self) -> dict[str, Any]:
        """The JSON contract's `address` object."""
        return {"ip": self.ip, "version": self.version, "category": self.category}


class PortInfo(NamedTuple):
    """A classified port number."""

    number: int
    range: PortRange
    ephemeral_on: tuple[OsId, ...]
    services: tuple[str, ...]  # program names people know first, then IANA service names
    reason: str | None = None  # why a port is invalid

    def to_json(self) -> dict[str, Any]:
        """The JSON contract's `port` object."""
        return {
            "number": self.number,
            "range": self.range,
            "ephemeral_on": list(self.ephemeral_on),
            "services": list(self.services),
        }


class NetworkInfo(NamedTuple):
    """A CIDR network with its size and range."""

    prefix: str
    version: int
    size: int
    first: str
    last: str
    category: AddressCategory
    reason: str | None = None

    def to_json(self) -> dict[str, Any]:
        """The JSON object for a network finding."""
        return {
            "prefix": self.prefix,
            "version": self.version,
            "size": self.size,
            "first": self.first,
            "last": self.last,
            "category": self.category,
        }


class Finding(NamedTuple):
    """One thing recognised in a message, with its exact span `[start, end)` in the text."""

    kind: FindingKind
    text: str
    span: tuple[int, int]
    host: str | None = None
    address: AddressInfo | None = None
    port: PortInfo | None = None
    network: NetworkInfo | None = None
    scheme: str | None = None  # for URLs
    error: str | None = None  # error symbol, e.g. "ECONNREFUSED"
    term: str | None = None  # knowledge entry id of a term
    program: str | None = None  # knowledge entry id of a program recognised on the same line
    ambiguity: str | None = None  # another reading of the text when its context cannot decide

    @property
    def is_address_like(self) -> bool:
        """Endpoints, bare addresses, URLs and ports carry host/address/port in JSON."""
        return self.kind in ("endpoint", "address", "url", "port")

    def to_json(self) -> dict[str, Any]:
        """The JSON contract's finding object."""
        out: dict[str, Any] = {"kind": self.kind, "text": self.text, "span": [self.span[0], self.span[1]]}
        if self.is_address_like:
            out["host"] = self.host
            out["address"] = self.address.to_json() if self.address else None
            out["port"] = self.port.to_json() if self.port else None
        if self.kind == "url":
            out["scheme"] = self.scheme
        if self.kind == "network" and self.network is not None:
            out["network"] = self.network.to_json()
        if self.kind == "error":
            out["error"] = self.error
        if self.kind == "term":
            out["term"] = self.term
        if self.program is not None:
            out["program"] = self.program
        if self.ambiguity is not None:
            out["ambiguity"] = self.ambiguity
        return out


class Section(NamedTuple):
    """A headed block of an answer. `os` marks a per-OS block (linux, macos, windows)."""

    heading: str
    body: str
    os: str | None = None

    def to_json(self) -> dict[str, Any]:
        """The JSON contract's section object."""
        out: dict[str, Any] = {"heading": self.heading, "body": self.body}
        if self.os is not None:
            out["os"] = self.os
        return out


class Reference(NamedTuple):
    """A primary source an answer rests on."""

    title: str
    url: str

    def to_json(self) -> dict[str, str]:
        """The JSON object for a reference."""
        return {"title": self.title, "url": self.url}


class Answer(NamedTuple):
    """What every front end renders: written from knowledge entries, never invented."""

    title: str
    summary: str
    sections: tuple[Section, ...] = ()
    references: tuple[Reference, ...] = ()
    entry_ids: tuple[str, ...] = ()  # the knowledge entries the answer was written from

    def to_json(self) -> dict[str, Any]:
        """The JSON contract's answer object."""
        return {
            "title": self.title,
            "summary": self.summary,
            "sections": [s.to_json() for s in self.sections],
            "references": [r.to_json() for r in self.references],
        }


class Explanation(NamedTuple):
    """The core's whole result for one message: what was found, whether it would trigger, the answer."""

    query: str
    findings: tuple[Finding, ...]
    triggered: bool
    answer: Answer
    parts: tuple[Answer, ...] = ()  # one answer per explained thing, for paging on Discord
    brief: bool = False  # answers without sections (`explain(..., brief=True)`), for compact replies
    read: int | None = None  # set when the text was cut: how many characters of it were read
    diagnoses: tuple[str, ...] = ()  # ids of the diagnoses that apply, the one the answer leads with first

    @property
    def found_anything(self) -> bool:
        """True when at least one finding was recognised."""
        return bool(self.findings)

    def to_json(self) -> dict[str, Any]:
        """The JSON contract's top-level object; `query` is the text as given, minus URL credentials.

        `read` appears only when the text was cut: the number of characters extraction read.
        """
        out: dict[str, Any] = {
            "query": redact_credentials(self.query),
            "triggered": self.triggered,
            "findings": [f.to_json() for f in self.findings],
            "diagnosis": self.diagnoses[0] if self.diagnoses else None,
            "answer": self.answer.to_json(),
        }
        if self.read is not None:
            out["read"] = self.read
        return out

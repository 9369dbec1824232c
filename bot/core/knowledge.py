"""The knowledge base as the core sees it: validated entries and the indexes built over them.

The loader (`bot.kb`) reads YAML and CSV into these values; the core only reads them. Keeping the
types here lets the arrow point one way: `bot.kb` imports the core, never the reverse.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field
from typing import Literal

from bot.core.model import AddressCategory, OsId

EntryKind = Literal["term", "error", "program"]
CommandOs = Literal["linux", "macos", "windows"]
COMMAND_OSES: tuple[CommandOs, ...] = ("linux", "macos", "windows")


@dataclass(frozen=True, slots=True)
class Source:
    """A primary source an entry cites."""

    title: str
    url: str


@dataclass(frozen=True, slots=True)
class Command:
    """A command that checks something, and what it shows. May hold `{port}` and `{ip}` placeholders."""

    cmd: str
    says: str


@dataclass(frozen=True, slots=True)
class Entry:
    """One knowledge entry: a term, a socket error or a program."""

    id: str
    kind: EntryKind
    title: str
    summary: str
    what: str
    means: str
    do: str
    sources: tuple[Source, ...]
    aliases: tuple[str, ...] = ()
    commands: dict[CommandOs, tuple[Command, ...]] = field(default_factory=dict)
    see_also: tuple[str, ...] = ()
    file: str = ""
    # errors
    symbol: str | None = None
    codes: dict[str, int] = field(default_factory=dict)
    curl_exit: tuple[int, ...] = ()
    messages: tuple[str, ...] = ()
    # programs
    banners: tuple[str, ...] = ()
    ports: tuple[int, ...] = ()


@dataclass(frozen=True, slots=True)
class AddressBlock:
    """A row of the IANA special-purpose registries (or a context row), with our own explanation."""

    network: ipaddress.IPv4Network | ipaddress.IPv6Network
    name: str
    category: AddressCategory
    rfc: str
    in_registry: bool
    flags: dict[str, bool | None]
    summary: str
    reach: str
    sources: tuple[Source, ...]
    entry: str | None = None


@dataclass(frozen=True, slots=True)
class DevPort:
    """A port developers meet in chat and logs, with the program that usually listens there."""

    port: int
    protocol: str
    program: str
    note: str
    source: Source
    entry: str | None = None


@dataclass(frozen=True, slots=True)
class IanaService:
    """One registration in the IANA Service Name and Transport Protocol Port Number Registry."""

    name: str
    protocol: str
    description: str


@dataclass(frozen=True, slots=True)
class EphemeralRange:
    """An operating system's default ephemeral (dynamic) port range."""

    os: OsId
    name: str
    first: int
    last: int
    command: str
    source: Source

    def holds(self, port: int) -> bool:
        """True when `port` is inside this range."""
        return self.first <= port <= self.last


@dataclass(frozen=True, slots=True)
class PortRangeDef:
    """One of RFC 6335's three port ranges."""

    range: Literal["well-known", "registered", "dynamic"]
    first: int
    last: int
    entry: str


def normalise_alias(text: str) -> str:
    """Aliases match across case, hyphens and runs of white space: "Port-Forwarding" is "port forwarding"."""
    return " ".join(text.lower().replace("-", " ").split())


_V4 = 4
_V6 = 6


class Knowledge:
    """Validated entries with the lookups the core needs. Built once by the loader, then read-only."""

    def __init__(
        self,
        *,
        entries: dict[str, Entry],
        blocks: tuple[AddressBlock, ...],
        dev_ports: tuple[DevPort, ...],
        iana: dict[int, str],
        ephemeral: tuple[EphemeralRange, ...],
        port_ranges: tuple[PortRangeDef, ...],
        examples: tuple[str, ...] = (),
    ) -> None:
        self.entries = entries
        self.blocks = blocks
        self.dev_ports = dev_ports
        self.iana = iana
        self.ephemeral = ephemeral
        self.port_ranges = port_ranges
        self.examples = examples
        self._build_indexes()

    # -- indexes -------------------------------------------------------------------------------
    def _build_indexes(self) -> None:
        self._blocks_by_len: dict[int, dict[int, dict[int, AddressBlock]]] = {_V4: {}, _V6: {}}
        for block in self.blocks:
            net = block.network
            by_len = self._blocks_by_len[net.version].setdefault(net.prefixlen, {})
            by_len[int(net.network_address) >> (net.max_prefixlen - net.prefixlen)] = block
        self._lengths = {v: sorted(d, reverse=True) for v, d in self._blocks_by_len.items()}
        self._dev_by_port: dict[int, tuple[DevPort, ...]] = {}
        for dp in self.dev_ports:
            self._dev_by_port[dp.port] = (*self._dev_by_port.get(dp.port, ()), dp)
        self.aliases: dict[str, str] = {}
        self.error_symbols: dict[str, str] = {}
        self.error_codes: dict[int, str] = {}
        self.curl_codes: dict[int, str] = {}
        self.error_messages: dict[str, str] = {}
        self.banners: dict[str, str] = {}
        for entry in self.entries.values():
            for alias in entry.aliases:
                self.aliases[alias] = entry.id
            if entry.symbol:
                self.error_symbols[entry.symbol] = entry.id
                for code in entry.codes.values():
                    self.error_codes.setdefault(code, entry.id)
                for code in entry.curl_exit:
                    self.curl_codes[code] = entry.id
                for message in entry.messages:
                    self.error_messages[message] = entry.id
            for banner in entry.banners:
                self.banners[banner] = entry.id
        self.alias_lookup = {normalise_alias(a): entry_id for a, entry_id in self.aliases.items()}
        # The first word of every alias and error message: a cheap test that text may hold one.
        self.trigger_words = frozenset(
            normalise_alias(phrase).split()[0] for phrase in (*self.aliases, *self.error_messages)
        )
        self._alias_re: re.Pattern[str] | None = None

    def __getstate__(self) -> dict[str, object]:
        state = dict(self.__dict__)
        state["_alias_re"] = None  # compiled on first use, not pickled
        return state

    def __setstate__(self, state: dict[str, object]) -> None:
        self.__dict__.update(state)

    @property
    def alias_pattern(self) -> re.Pattern[str]:
        """One regex for every alias, longest first, matched on lower-cased text (built on first use)."""
        if self._alias_re is None:
            alternatives = sorted(self.aliases, key=len, reverse=True)
            body = "|".join(re.escape(a).replace(r"\ ", r"[\s-]+") for a in alternatives) or "(?!)"
            self._alias_re = re.compile(rf"(?<![\w-])(?:{body})(?![\w-])")
        return self._alias_re

    # -- lookups -------------------------------------------------------------------------------
    def block_for(self, ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> AddressBlock | None:
        """The most specific address block holding `ip` (longest-prefix match)."""
        value = int(ip)
        bits = ip.max_prefixlen
        table = self._blocks_by_len[ip.version]
        for plen in self._lengths[ip.version]:
            block = table[plen].get(value >> (bits - plen))
            if block is not None:
                return block
        return None

    def block_for_text(self, ip_text: str) -> AddressBlock | None:
        """`block_for` on an address written as text; None when it is not an address."""
        try:
            return self.block_for(ipaddress.ip_address(ip_text.split("%")[0]))
        except ValueError:
            return None

    def dev_ports_for(self, port: int) -> tuple[DevPort, ...]:
        """The curated developer programs known to use `port`."""
        return self._dev_by_port.get(port, ())

    def iana_for(self, port: int) -> tuple[IanaService, ...]:
        """Every IANA registration for `port` (any transport).

        The registry is held as one packed line per registration (name, protocol, description, tab
        separated), so that loading 14,500 rows costs one string per port, parsed only when asked.
        """
        packed = self.iana.get(port)
        if not packed:
            return ()
        return tuple(IanaService(*line.split("\t", 2)) for line in packed.split("\n"))

    def entry(self, entry_id: str) -> Entry | None:
        """The entry with this id, if any."""
        return self.entries.get(entry_id)

    def suggest(self, prefix: str, limit: int = 25) -> list[tuple[str, str]]:
        """Autocomplete choices as (label, value): example queries and term titles containing `prefix`."""
        needle = prefix.strip().lower()
        out: list[tuple[str, str]] = []
        seen: set[str] = set()
        candidates: list[tuple[str, str]] = [(ex, ex) for ex in self.examples]
        for entry in sorted(self.entries.values(), key=lambda e: e.title.lower()):
            value = entry.symbol or (entry.aliases[0] if entry.aliases else entry.title)
            candidates.append((entry.title, value))
        for label, value in candidates:
            hay = f"{label} {value}".lower()
            if needle and needle not in hay:
                continue
            if value in seen:
                continue
            seen.add(value)
            out.append((label[:100], value[:100]))
            if len(out) >= limit:
                break
        return out

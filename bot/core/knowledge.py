"""The knowledge base as the core sees it: validated entries and the indexes built over them.

The loader (`bot.kb`) reads YAML and CSV into these values; the core only reads them. Keeping the
types here lets the arrow point one way: `bot.kb` imports the core, never the reverse.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping
from typing import Any, Literal, NamedTuple

from bot.core.model import AddressCategory, OsId, Reference

EntryKind = Literal["term", "error", "program"]
CommandOs = Literal["linux", "macos", "windows"]
COMMAND_OSES: tuple[CommandOs, ...] = ("linux", "macos", "windows")


# A primary source an entry cites: the same (title, url) pair an answer lists as a reference, so that an
# answer's references are its entries' sources as they are.
Source = Reference


class Command(NamedTuple):
    """A command that checks something, and what it shows. May hold `{port}` and `{ip}` placeholders."""

    cmd: str
    says: str


class Entry(NamedTuple):
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
    commands: Mapping[CommandOs, tuple[Command, ...]] = {}
    see_also: tuple[str, ...] = ()
    file: str = ""
    # errors
    symbol: str | None = None
    codes: Mapping[str, int] = {}
    curl_exit: tuple[int, ...] = ()
    messages: tuple[str, ...] = ()
    # programs
    banners: tuple[str, ...] = ()
    ports: tuple[int, ...] = ()
    # terms: single addresses with a meaning of their own (169.254.169.254), written canonically
    addresses: tuple[str, ...] = ()
    # terms: the aliases that, found alone, are worth an unasked answer in a watched channel (words only
    # error output holds, such as Node's "querySrv"); other aliases are conversation
    triggers: tuple[str, ...] = ()


class AddressBlock(NamedTuple):
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


class DevPort(NamedTuple):
    """A port developers meet in chat and logs, with the program that usually listens there."""

    port: int
    protocol: str
    program: str
    note: str
    source: Source
    entry: str | None = None


class IanaService(NamedTuple):
    """One registration in the IANA Service Name and Transport Protocol Port Number Registry."""

    name: str
    protocol: str
    description: str


class EphemeralRange(NamedTuple):
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


class PortRangeDef(NamedTuple):
    """One of RFC 6335's three port ranges."""

    range: Literal["well-known", "registered", "dynamic"]
    first: int
    last: int
    entry: str


class Conditions(NamedTuple):
    """When a diagnosis applies: every condition given must hold (each list: any one of its values).

    The endpoint conditions (from `categories` to `kinds`) must all hold for one and the same finding,
    the diagnosis's subject; the others are about the whole message.
    """

    errors: frozenset[str] = frozenset()  # error symbols, or ids of terms found as error output
    no_error: bool = False  # the message holds no error at all
    side: str | None = None  # "bind" (listen, bind) or "connect" (connect, reach)
    # phrases as their words (`alias_tokens`) joined by spaces, with a space at each end: " running on "
    words: tuple[str, ...] = ()  # any of which the message holds
    not_words: tuple[str, ...] = ()  # none of which it holds
    categories: frozenset[str] = frozenset()
    versions: frozenset[int] = frozenset()
    ips: frozenset[str] = frozenset()  # canonical addresses
    networks: tuple[str, ...] = ()  # CIDR prefixes the address lies in
    hosts: frozenset[str] = frozenset()  # host names as written (lower case)
    host_kinds: frozenset[str] = frozenset()  # "single-label" (db, redis), "dotted" (api.example.com)
    ports: tuple[tuple[int, int], ...] = ()  # inclusive ranges
    services: frozenset[str] = frozenset()  # program entry ids: named on the line, or known on the port
    schemes: frozenset[str] = frozenset()
    kinds: frozenset[str] = frozenset()  # finding kinds: endpoint, address, url, port
    zone: bool | None = None  # the address was written with (True) or without (False) a %zone

    @property
    def about_endpoint(self) -> bool:
        """Whether any condition is about the subject finding."""
        return bool(
            self.categories
            or self.versions
            or self.ips
            or self.networks
            or self.hosts
            or self.host_kinds
            or self.ports
            or self.services
            or self.schemes
            or self.kinds
            or self.zone is not None
        )

    @property
    def weight(self) -> int:
        """How specific the conditions are: one point per condition given, two for a named service,
        address or host (they say the most about one paste)."""
        named = sum(2 for c in (self.services, self.ips, self.hosts, self.networks) if c)
        return (
            named
            + sum(
                1
                for c in (
                    self.errors,
                    self.no_error,
                    self.side,
                    self.words,
                    self.not_words,
                    self.categories,
                    self.versions,
                    self.host_kinds,
                    self.ports,
                    self.schemes,
                    self.kinds,
                )
                if c
            )
            + (self.zone is not None)
        )


class Diagnosis(NamedTuple):
    """A cause people hit, as data: when it applies, the lead it gives (filled from the message with
    `{ip}`, `{port}`, `{host}`, `{endpoint}`, `{service}`, `{error}`, `{port2}`, `{v4}`, and `{ephemeral}`:
    whose default ephemeral range holds the port, as a sentence), the fix and its sources."""

    id: str
    when: Conditions
    title: str
    summary: str
    fix: str
    sources: tuple[Source, ...]
    by_service: Mapping[str, str] = {}  # program entry id -> the fix's extra sentence for it
    commands: Mapping[CommandOs, tuple[Command, ...]] = {}
    priority: int = 0  # breaks ties between diagnoses of equal weight
    file: str = ""


WORD_RE = re.compile(r"[a-z0-9_]+(?:\.[a-z0-9_]+)*")


_DOTTED_QUAD_RE = re.compile(
    r"(0|[1-9][0-9]{0,2})\.(0|[1-9][0-9]{0,2})\.(0|[1-9][0-9]{0,2})\.(0|[1-9][0-9]{0,2})"
)


def ipv4_value(text: str) -> int | None:
    """The integer value of a dotted-quad IPv4 address, or None; exactly as strict as `ipaddress`
    (four decimal numbers 0-255, no leading zeros), without building an address object."""
    m = _DOTTED_QUAD_RE.fullmatch(text)
    if m is None:
        return None
    a, b, c, d = map(int, m.groups())
    if a > 255 or b > 255 or c > 255 or d > 255:
        return None
    return a << 24 | b << 16 | c << 8 | d


def alias_tokens(text: str) -> tuple[str, ...]:
    """The words of an alias or a lower-cased text, as matching sees them: case, hyphens, punctuation
    and runs of white space do not count, so "Port-Forwarding" is ("port", "forwarding")."""
    return tuple(WORD_RE.findall(text.lower()))


_V4 = 4
_V6 = 6
_WORD_OR_DOT = frozenset("abcdefghijklmnopqrstuvwxyz0123456789_.")


def _interior_word(phrase: str) -> str | None:
    """The longest word of `phrase` with a separator on both sides inside it, if any."""
    inside = [
        m.group()
        for m in WORD_RE.finditer(phrase)
        if m.start() > 0
        and m.end() < len(phrase)
        and phrase[m.start() - 1] not in _WORD_OR_DOT
        and phrase[m.end()] not in _WORD_OR_DOT
    ]
    return max(inside, key=len) if inside else None


def _any_of(phrases: list[str]) -> str:
    """A pattern that matches where any of `phrases` (non-empty) starts, with common beginnings shared
    ("mongo(?:db://|networkerror)"): the regex engine then tries one branch per next character at each
    position instead of one per phrase. It may match only the shorter of two phrases where one begins
    the other, so it serves to test whether a text holds one, not which."""
    trie: dict[str, dict[str, Any]] = {}
    for phrase in phrases:
        node = trie
        for ch in phrase:
            node = node.setdefault(ch, {})
        node[""] = {}

    def pattern(node: dict[str, dict[str, Any]]) -> str:
        branches = [re.escape(ch) + pattern(child) for ch, child in sorted(node.items()) if ch]
        if not branches or "" in node:
            return ""  # a phrase ends here: the shorter phrase is enough
        return branches[0] if len(branches) == 1 else f"(?:{'|'.join(branches)})"

    return pattern(trie)


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
        diagnoses: tuple[Diagnosis, ...] = (),
    ) -> None:
        self.entries = entries
        self.blocks = blocks
        self.dev_ports = dev_ports
        self.iana = iana
        self.ephemeral = ephemeral
        self.port_ranges = port_ranges
        self.examples = examples
        self.diagnoses = tuple(
            sorted(diagnoses, key=lambda d: (-(d.when.weight + d.priority), d.id))
        )  # most specific first
        # Where to look: those that need an error by each error, and those that need none (by position).
        self.diagnoses_needing: dict[str, tuple[int, ...]] = {}
        for i, d in enumerate(self.diagnoses):
            for name in d.when.errors:
                self.diagnoses_needing[name] = (*self.diagnoses_needing.get(name, ()), i)
        self.diagnoses_needing_no_error = tuple(i for i, d in enumerate(self.diagnoses) if not d.when.errors)
        self._build_indexes()

    # -- indexes -------------------------------------------------------------------------------
    def _build_indexes(self) -> None:
        # Blocks by prefix length, then by the prefix's value; with each block, its prefix as text.
        self._blocks_by_len: dict[int, dict[int, dict[int, tuple[AddressBlock, str]]]] = {_V4: {}, _V6: {}}
        for block in self.blocks:
            net = block.network
            by_len = self._blocks_by_len[net.version].setdefault(net.prefixlen, {})
            by_len[int(net.network_address) >> (net.max_prefixlen - net.prefixlen)] = (block, str(net))
        self._lengths = {v: sorted(d, reverse=True) for v, d in self._blocks_by_len.items()}
        self._ephemeral_by_os = sorted(self.ephemeral, key=lambda r: r.os)
        self._dev_by_port: dict[int, tuple[DevPort, ...]] = {}
        for dp in self.dev_ports:
            self._dev_by_port[dp.port] = (*self._dev_by_port.get(dp.port, ()), dp)
        self.aliases: dict[str, str] = {}
        self.error_symbols: dict[str, str] = {}
        self.error_codes: dict[int, str] = {}
        self.curl_codes: dict[int, str] = {}
        self.error_messages: dict[str, str] = {}
        self.banners: dict[str, str] = {}
        self.address_entries: dict[str, str] = {}  # canonical address -> the entry about it
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
            for address in entry.addresses:
                self.address_entries[address] = entry.id
        self._ipv6_address_entries = any(":" in a for a in self.address_entries)
        self._triggering: dict[str, frozenset[tuple[str, ...]]] = {
            e.id: frozenset(alias_tokens(a) for a in e.triggers) for e in self.entries.values() if e.triggers
        }
        # Banners by a word they hold between two separators: a line holding the banner holds that word
        # too, so only the banners of a line's words are searched for. The few without one (a single
        # word such as "mysqld") are always searched for. Each keeps its place: the first banner wins.
        self.banner_index: dict[str, list[tuple[int, str, str]]] = {}
        self.unkeyed_banners: list[tuple[int, str, str]] = []
        for order, (banner, entry_id) in enumerate(self.banners.items()):
            key = _interior_word(banner)
            if key is None:
                self.unkeyed_banners.append((order, banner, entry_id))
            else:
                self.banner_index.setdefault(key, []).append((order, banner, entry_id))
        # One search tells whether a line holds any of the unkeyed banners at all.
        self.unkeyed_banner_re = (
            re.compile(_any_of([b for _, b, _ in self.unkeyed_banners])) if self.unkeyed_banners else None
        )
        # Aliases by their first word, then by their length in words, longest first, so matching walks
        # a text's words once and looks up the words that follow one dictionary per length. When two
        # aliases have the same words, the first one listed wins.
        by_first: dict[str, dict[int, dict[tuple[str, ...], str]]] = {}
        for alias, entry_id in self.aliases.items():
            tokens = alias_tokens(alias)
            if tokens:
                by_first.setdefault(tokens[0], {}).setdefault(len(tokens), {}).setdefault(tokens, entry_id)
        self.alias_index: dict[str, tuple[tuple[int, dict[tuple[str, ...], str]], ...]] = {
            first: tuple(sorted(by_length.items(), reverse=True)) for first, by_length in by_first.items()
        }
        # Error messages by their longest word: only messages whose word is in a text are searched for.
        self.message_keys: dict[str, list[str]] = {}
        for message in self.error_messages:
            tokens = alias_tokens(message)
            if tokens:
                self.message_keys.setdefault(max(tokens, key=len), []).append(message)
        # Messages with no ASCII word to look up (Russian, Chinese, Japanese wording) are searched for
        # directly, longest first, in a text with characters beyond ASCII.
        unkeyed = sorted((m for m in self.error_messages if not alias_tokens(m)), key=len, reverse=True)
        self.unkeyed_message_re: re.Pattern[str] | None = (
            re.compile("|".join(map(re.escape, unkeyed))) if unkeyed else None
        )
        # The longest word of every alias and error message: a cheap, distinctive test that a text
        # may hold one (the first word is often "is" or "no", which every chat line has).
        self.trigger_words = frozenset(
            max(tokens, key=len)
            for tokens in (alias_tokens(p) for p in (*self.aliases, *self.error_messages))
            if tokens
        )
        # The same words as bytes, with the error symbols as words ("econnrefused", "wsaeconnrefused"):
        # what `may_contain_findings` looks for in a lower-cased line.
        symbols = [s.lower() for s in self.error_symbols]
        self.symbol_words = frozenset((*symbols, *(f"wsa{s}" for s in symbols)))
        self.prefilter_words = frozenset(w.encode("ascii") for w in (*self.trigger_words, *self.symbol_words))
        self.prefilter_dotted = tuple(w for w in self.prefilter_words if w.find(b".") >= 0)

    # -- lookups -------------------------------------------------------------------------------
    def block_for(self, ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> AddressBlock | None:
        """The most specific address block holding `ip` (longest-prefix match)."""
        found = self.block_and_prefix_for(int(ip), ip.version)
        return found[0] if found else None

    def block_and_prefix_for(self, value: int, version: int) -> tuple[AddressBlock, str] | None:
        """The most specific block holding the address whose integer value is `value`, with its prefix
        written out ("127.0.0.0/8")."""
        bits = 32 if version == _V4 else 128
        table = self._blocks_by_len[version]
        for plen in self._lengths[version]:
            found = table[plen].get(value >> (bits - plen))
            if found is not None:
                return found
        return None

    def block_for_text(self, ip_text: str) -> AddressBlock | None:
        """`block_for` on an address written as text; None when it is not an address."""
        bare = ip_text.split("%")[0]
        if ":" not in bare:  # IPv4, the common case, without building an address object
            value = ipv4_value(bare)
            found = self.block_and_prefix_for(value, _V4) if value is not None else None
            return found[0] if found is not None else None
        try:
            return self.block_for(ipaddress.ip_address(ip_text.split("%")[0]))
        except ValueError:
            return None

    def entry_for_address(self, ip_text: str) -> Entry | None:
        """The entry about this one address (169.254.169.254: cloud instance metadata), if any."""
        if not self.address_entries:
            return None
        if ":" in ip_text:  # IPv6 has many spellings; IPv4 is read only in its one strict form
            if not self._ipv6_address_entries:
                return None
            try:
                ip_text = str(ipaddress.ip_address(ip_text.split("%")[0]))
            except ValueError:
                return None
        entry_id = self.address_entries.get(ip_text)
        return self.entries[entry_id] if entry_id else None

    def dev_ports_for(self, port: int) -> tuple[DevPort, ...]:
        """The curated developer programs known to use `port`."""
        return self._dev_by_port.get(port, ())

    def iana_names_for(self, port: int) -> list[str]:
        """The service names of `iana_for(port)`, in order."""
        packed = self.iana.get(port)
        if not packed:
            return []
        return [line.split("\t", 1)[0] for line in packed.split("\n")]

    def ephemeral_on(self, port: int) -> tuple[OsId, ...]:
        """The OSes (in alphabetical order) whose default ephemeral range holds `port`."""
        return tuple([r.os for r in self._ephemeral_by_os if r.first <= port <= r.last])

    def iana_for(self, port: int) -> tuple[IanaService, ...]:
        """Every IANA registration for `port` (any transport).

        The registry is held as one packed line per registration (name, protocol, description, tab
        separated), so that loading 14,500 rows costs one string per port, parsed only when asked.
        """
        packed = self.iana.get(port)
        if not packed:
            return ()
        return tuple(IanaService(*line.split("\t", 2)) for line in packed.split("\n"))

    def term_triggers(self, term_id: str, text: str) -> bool:
        """Whether the term found as `text` is error output (a `triggers` alias), not conversation."""
        return self.trigger_alias(term_id, alias_tokens(text))

    def trigger_alias(self, term_id: str, words: tuple[str, ...]) -> bool:
        """Whether `words` (an alias's words) are one of the term's `triggers`."""
        aliases = self._triggering.get(term_id)
        return aliases is not None and words in aliases

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

"""The knowledge base's schema: raw YAML values in, validated core values out.

Every failure names the file, the entry and the reason, so a contributor can fix it in one go.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Any, cast, get_args

from bot.core.knowledge import (
    COMMAND_OSES,
    AddressBlock,
    Command,
    CommandOs,
    DevPort,
    Entry,
    EntryKind,
    EphemeralRange,
    PortRangeDef,
    Source,
)
from bot.core.model import OS_IDS, AddressCategory, OsId
from bot.kb.errors import KnowledgeError

ID_RE = re.compile(r"^[a-z0-9][a-z0-9-]*$")
SYMBOL_RE = re.compile(r"^E[A-Z_]+$")
CATEGORIES: frozenset[str] = frozenset(get_args(AddressCategory))
TEXT_FIELDS = ("summary", "what", "means", "do")
MAX_SUMMARY = 400
MAX_BODY = 1000
PLACEHOLDER_RE = re.compile(r"\{([^}]*)\}")
ALLOWED_PLACEHOLDERS = frozenset({"port", "ip"})
KNOWN_KEYS: dict[str, frozenset[str]] = {
    "term": frozenset(
        {"id", "title", "aliases", "addresses", "triggers", *TEXT_FIELDS, "commands", "see_also", "sources"}
        | {"kind"}
    ),
    "error": frozenset(
        {"id", "symbol", "title", "codes", "curl_exit", "messages", "aliases", *TEXT_FIELDS, "commands"}
        | {"see_also", "sources", "kind"}
    ),
    "program": frozenset(
        {"id", "name", "title", "banners", "ports", "aliases", *TEXT_FIELDS, "commands", "see_also"}
        | {"sources", "kind"}
    ),
}


class _Checker:
    """Validation helpers bound to one file and entry, so every error carries its place."""

    def __init__(self, file: str, entry: str | None = None) -> None:
        self.file = file
        self.entry = entry

    def fail(self, reason: str) -> KnowledgeError:
        return KnowledgeError(self.file, self.entry, reason)

    def mapping(self, value: Any, what: str, *, text_keys: bool = True) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise self.fail(f"{what} must be a mapping, not {type(value).__name__}")
        for key in value if text_keys else ():
            if not isinstance(key, str):
                raise self.fail(f"{what} has the key {key!r}, which is not text")
        return cast(dict[str, Any], value)

    def identified(self, raw_value: Any, what: str, keys: frozenset[str]) -> dict[str, Any]:
        """A mapping with a valid `id` (which then names the entry in every error) and only `keys`."""
        raw = self.mapping(raw_value, what, text_keys=False)  # (its keys checked once the id names it)
        entry_id = raw.get("id")
        if not isinstance(entry_id, str) or not ID_RE.match(entry_id):
            raise self.fail("'id' must be lowercase letters, digits and hyphens")
        self.entry = entry_id
        raw = self.mapping(raw, f"the {what.split()[-1]}")
        unknown = set(raw) - keys
        if unknown:
            raise self.fail(f"unknown field(s): {', '.join(sorted(unknown))}")
        return raw

    def optional_text(self, raw: dict[str, Any], key: str) -> str | None:
        """A short single value such as an entry id or an RFC number: text (or a number), or absent."""
        value = raw.get(key)
        if value is None or value == "":
            return None
        if isinstance(value, bool) or not isinstance(value, str | int):
            raise self.fail(f"'{key}' must be text, not {type(value).__name__}")
        return str(value)

    def whole_number(self, raw: dict[str, Any], key: str, low: int, high: int) -> int:
        value = raw.get(key)
        if value is None:
            raise self.fail(f"'{key}' is missing")
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise self.fail(f"'{key}' must be a whole number from {low} to {high}, not {value!r}")
        return value

    def items(self, raw: dict[str, Any], key: str) -> list[Any]:
        value = raw.get(key)
        if value is None:
            return []
        if not isinstance(value, list):
            raise self.fail(f"'{key}' must be a list, not {type(value).__name__}")
        return value

    def text(self, raw: dict[str, Any], key: str, *, limit: int = MAX_BODY, required: bool = True) -> str:
        value = raw.get(key)
        if value is None:
            if required:
                raise self.fail(f"'{key}' is missing")
            return ""
        if not isinstance(value, str) or not value.strip():
            raise self.fail(f"'{key}' must be non-empty text")
        value = value.strip()
        if len(value) > limit:
            raise self.fail(f"'{key}' is {len(value)} characters; the limit is {limit}")
        if "@" in value and key in TEXT_FIELDS:
            raise self.fail(f"'{key}' contains '@', which could ping on Discord")
        return value

    def strings(self, raw: dict[str, Any], key: str) -> tuple[str, ...]:
        value = raw.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
            raise self.fail(f"'{key}' must be a list of non-empty strings")
        return tuple(v.strip() for v in value)

    def ints(self, raw: dict[str, Any], key: str) -> tuple[int, ...]:
        value = raw.get(key, [])
        if isinstance(value, int) and not isinstance(value, bool):
            value = [value]
        if not isinstance(value, list) or not all(
            isinstance(v, int) and not isinstance(v, bool) for v in value
        ):
            raise self.fail(f"'{key}' must be a list of whole numbers")
        return tuple(value)

    def source(self, value: Any) -> Source:
        raw = self.mapping(value, "a source")
        title, url = raw.get("title"), raw.get("url")
        if not isinstance(title, str) or not title.strip():
            raise self.fail("a source needs a 'title'")
        if not isinstance(url, str) or not url.startswith("https://"):
            raise self.fail(f"source '{title}' needs an https:// 'url'")
        return Source(title.strip(), url.strip())

    def sources(self, raw: dict[str, Any]) -> tuple[Source, ...]:
        value = raw.get("sources")
        if not isinstance(value, list) or not value:
            raise self.fail("'sources' must list at least one primary source")
        return tuple(self.source(v) for v in value)

    def commands(self, raw: dict[str, Any]) -> dict[CommandOs, tuple[Command, ...]]:
        return self.commands_with(raw, ALLOWED_PLACEHOLDERS)

    def commands_with(
        self, raw: dict[str, Any], placeholders: frozenset[str]
    ) -> dict[CommandOs, tuple[Command, ...]]:
        """The `commands` mapping, whose `cmd`s may hold only `placeholders`."""
        value = raw.get("commands")
        if value is None:
            return {}
        mapping = self.mapping(value, "'commands'")
        out: dict[CommandOs, tuple[Command, ...]] = {}
        for os_name, items in mapping.items():
            if os_name not in COMMAND_OSES:
                raise self.fail(f"'commands' has unknown OS '{os_name}' (use {', '.join(COMMAND_OSES)})")
            if not isinstance(items, list) or not items:
                raise self.fail(f"'commands.{os_name}' must be a non-empty list")
            cmds = []
            for item in items:
                item_map = self.mapping(item, f"a command under '{os_name}'")
                cmd, says = item_map.get("cmd"), item_map.get("says")
                if (
                    not isinstance(cmd, str)
                    or not cmd.strip()
                    or not isinstance(says, str)
                    or not says.strip()
                ):
                    raise self.fail(f"a command under '{os_name}' needs 'cmd' and 'says'")
                for name in PLACEHOLDER_RE.findall(cmd):
                    if name not in placeholders:
                        raise self.fail(f"command '{cmd}' has unknown placeholder '{{{name}}}'")
                cmds.append(Command(cmd.strip(), says.strip()))
            out[os_name] = tuple(cmds)
        return out


def parse_entry(raw_value: Any, kind: EntryKind, file: str) -> Entry:
    """Validate one term, error or program entry."""
    check = _Checker(file)
    raw = check.identified(raw_value, "an entry", KNOWN_KEYS[kind])
    entry_id = raw["id"]
    title_key = "name" if kind == "program" and "title" not in raw else "title"
    aliases = tuple(a.lower() for a in check.strings(raw, "aliases"))
    for alias in aliases:
        if alias.replace(".", "").replace(":", "").isdigit():
            raise check.fail(f"alias '{alias}' is a number or an address; those are recognised by pattern")
    fields: dict[str, Any] = {
        "id": entry_id,
        "kind": kind,
        "title": check.text(raw, title_key, limit=200),
        "summary": check.text(raw, "summary", limit=MAX_SUMMARY),
        "what": check.text(raw, "what"),
        "means": check.text(raw, "means"),
        "do": check.text(raw, "do"),
        "sources": check.sources(raw),
        "aliases": aliases,
        "commands": check.commands(raw),
        "see_also": check.strings(raw, "see_also"),
        "file": file,
    }
    if kind == "error":
        symbol = raw.get("symbol")
        if not isinstance(symbol, str) or not SYMBOL_RE.match(symbol):
            raise check.fail("'symbol' must be an error symbol such as ECONNREFUSED")
        codes = check.mapping(raw.get("codes", {}), "'codes'")
        if not all(isinstance(v, int) and not isinstance(v, bool) for v in codes.values()):
            raise check.fail("'codes' must map platforms to whole numbers")
        messages = tuple(m.lower() for m in check.strings(raw, "messages"))
        for message in messages:
            if len(message) < 10:
                raise check.fail(f"message '{message}' is too short to match safely (10 characters at least)")
        fields.update(
            symbol=symbol, codes=dict(codes), curl_exit=check.ints(raw, "curl_exit"), messages=messages
        )
    if kind == "term":
        fields["addresses"] = tuple(_canonical_address(check, a) for a in check.strings(raw, "addresses"))
        fields["triggers"] = _triggers(check, raw.get("triggers", False), aliases)
    if kind == "program":
        banners = tuple(b.lower() for b in check.strings(raw, "banners"))
        for banner in banners:
            if len(banner) < 5:
                raise check.fail(f"banner '{banner}' is too short to match safely (5 characters at least)")
        fields.update(banners=banners, ports=check.ints(raw, "ports"))
    return Entry(**fields)


def _triggers(check: _Checker, value: Any, aliases: tuple[str, ...]) -> tuple[str, ...]:
    """The aliases that make a term answer unasked: `true` (all of them), `false`, or a list of them."""
    if isinstance(value, bool):
        return aliases if value else ()
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise check.fail("'triggers' must be true, false or a list of the entry's aliases")
    chosen = tuple(v.strip().lower() for v in value)
    for alias in chosen:
        if alias not in aliases:
            raise check.fail(f"'triggers' names '{alias}', which is not one of the entry's aliases")
    return chosen


def _canonical_address(check: _Checker, text: str) -> str:
    """An address as `ipaddress` writes it (lower case, IPv6 compressed), or a clear error."""
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        raise check.fail(f"'{text}' in 'addresses' is not an IP address") from None


def parse_block(raw_value: Any, file: str, index: int) -> AddressBlock:
    """Validate one address block of `addresses.yaml`."""
    check = _Checker(file, f"item {index + 1}")
    raw = check.mapping(raw_value, "an address block")
    prefix = raw.get("prefix")
    if not isinstance(prefix, str):
        raise check.fail(f"'prefix' must be a network such as 10.0.0.0/8, not {type(prefix).__name__}")
    try:
        network = ipaddress.ip_network(prefix, strict=True)
    except ValueError as exc:
        raise check.fail(f"'prefix' is not a network: {exc}") from None
    check.entry = str(network)
    category = raw.get("category")
    if not isinstance(category, str) or category not in CATEGORIES:
        raise check.fail(f"'category' must be one of {', '.join(sorted(CATEGORIES))}")
    flags_raw = check.mapping(raw.get("flags") or {}, "'flags'")
    flags: dict[str, bool | None] = {}
    for key, value in flags_raw.items():
        if value is not None and not isinstance(value, bool):
            raise check.fail(f"flag '{key}' must be true, false or null")
        flags[key] = value
    in_registry = raw.get("in_registry", True)
    if not isinstance(in_registry, bool):
        raise check.fail("'in_registry' must be true or false")
    return AddressBlock(
        network=network,
        name=check.text(raw, "name", limit=200),
        category=cast(AddressCategory, category),
        rfc=check.optional_text(raw, "rfc") or "",
        in_registry=in_registry,
        flags=flags,
        summary=check.text(raw, "summary", limit=MAX_SUMMARY),
        reach=check.text(raw, "reach", limit=MAX_SUMMARY),
        sources=check.sources(raw),
        entry=check.optional_text(raw, "entry"),
    )


def parse_dev_port(raw_value: Any, file: str, index: int) -> DevPort:
    """Validate one item of `ports.yaml`."""
    check = _Checker(file, f"item {index + 1}")
    raw = check.mapping(raw_value, "a port")
    port = check.whole_number(raw, "port", 0, 65535)
    check.entry = f"port {port}"
    protocol = raw.get("protocol", "tcp")
    if not isinstance(protocol, str) or protocol not in ("tcp", "udp", "tcp/udp", "sctp"):
        raise check.fail("'protocol' must be tcp, udp, tcp/udp or sctp")
    return DevPort(
        port=port,
        protocol=protocol,
        program=check.text(raw, "program", limit=200),
        note=check.text(raw, "note", limit=MAX_SUMMARY, required=False),
        source=check.source(raw.get("source")),
        entry=check.optional_text(raw, "entry"),
    )


def parse_port_ranges(
    raw_value: Any, file: str
) -> tuple[tuple[PortRangeDef, ...], tuple[EphemeralRange, ...]]:
    """Validate `port-ranges.yaml`: RFC 6335's ranges and each OS's default ephemeral range."""
    check = _Checker(file)
    raw = check.mapping(raw_value, "the file")
    ranges = []
    for number, item in enumerate(check.items(raw, "iana_ranges"), 1):
        check.entry = f"iana_ranges: item {number}"
        r = check.mapping(item, "an IANA range")
        name = r.get("range")
        if not isinstance(name, str) or name not in ("well-known", "registered", "dynamic"):
            raise check.fail("an IANA range needs 'range': well-known, registered or dynamic")
        check.entry = f"iana_ranges: {name}"
        first, last = check.whole_number(r, "first", 0, 65535), check.whole_number(r, "last", 0, 65535)
        if first > last:
            raise check.fail("'first' must not be above 'last'")
        entry = check.optional_text(r, "entry")
        if entry is None:
            raise check.fail("'entry' is missing")
        ranges.append(PortRangeDef(cast(Any, name), first, last, entry))
    check.entry = None
    if [r.range for r in ranges] != ["well-known", "registered", "dynamic"]:
        raise check.fail("'iana_ranges' must list well-known, registered and dynamic in that order")
    ephemeral = []
    for number, item in enumerate(check.items(raw, "ephemeral"), 1):
        check.entry = f"ephemeral: item {number}"
        e = check.mapping(item, "an ephemeral range")
        if not isinstance(e.get("os"), str) or e.get("os") not in OS_IDS:
            raise check.fail(f"'os' must be one of {', '.join(OS_IDS)}")
        check.entry = f"ephemeral: {e['os']}"
        first, last = check.whole_number(e, "first", 1, 65535), check.whole_number(e, "last", 1, 65535)
        if first > last:
            raise check.fail("'first' and 'last' must be ports with first <= last")
        ephemeral.append(
            EphemeralRange(
                os=cast(OsId, e["os"]),
                name=check.text(e, "name", limit=100),
                first=first,
                last=last,
                command=check.text(e, "command", limit=300),
                source=check.source(e.get("source")),
            )
        )
    return tuple(ranges), tuple(ephemeral)

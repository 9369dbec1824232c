"""Classifies what extraction found: addresses by the IANA special-purpose registries, ports by
RFC 6335's ranges, each OS's default ephemeral range and the services known to use them.

The registry rows, ranges and services are knowledge-base data; nothing here hard-codes a block.
"""

from __future__ import annotations

import ipaddress
from typing import cast

from bot.core.credentials import mask_credentials
from bot.core.extract import Candidate, line_words
from bot.core.knowledge import Knowledge, ipv4_value
from bot.core.model import (
    AddressCategory,
    AddressInfo,
    Finding,
    FindingKind,
    NetworkInfo,
    PortInfo,
    PortRange,
)

LOCAL_NAMES = ("localhost",)


def classify_address(ip_text: str, kb: Knowledge) -> AddressInfo:
    """The registry category of one IP address (RFC 6890 registries, most specific block first)."""
    bare = ip_text.split("%")[0]
    value = ipv4_value(bare) if ":" not in bare else None  # the common case, without `ipaddress`
    if value is not None:
        version = 4
    else:
        try:
            ip = ipaddress.ip_address(bare)
        except ValueError:
            return AddressInfo(ip_text, None, "invalid", reason=address_problem(bare))
        value, version = int(ip), ip.version
    written = bare.lower()  # keep the form people wrote (::ffff:127.0.0.1), minus any zone
    found = kb.block_and_prefix_for(value, version)
    if found is None:
        # Outside every listed block: ordinary unicast space for IPv4. For IPv6 the knowledge base lists
        # 2000::/3 (global unicast) as a context row, so anything else unlisted is unassigned space.
        category: AddressCategory = "public" if version == 4 else "reserved"
        return AddressInfo(written, version, category)
    block, prefix = found
    return AddressInfo(
        written, version, block.category, block=prefix, block_name=block.name, entry_id=block.entry
    )


def address_problem(text: str) -> str:
    """Why `text` is not an IP address, in our words (Python's own messages are not for chat)."""
    if ":" in text:
        if text.count("::") > 1:
            return "`::` may stand only once in an IPv6 address"
        return "an IPv6 address is at most eight groups of one to four hex digits, separated by colons"
    return "an IPv4 address is four numbers from 0 to 255, separated by dots, without leading zeros"


def classify_host(host: str, kb: Knowledge) -> AddressInfo | None:
    """`localhost` and names under `.localhost` are loopback by RFC 6761; other names are not classified."""
    if host in LOCAL_NAMES or host.endswith(".localhost"):
        return AddressInfo(None, None, "loopback", entry_id="localhost")
    return None


def classify_port(number: int, kb: Knowledge) -> PortInfo:
    """RFC 6335 range, the OSes whose default ephemeral range holds the port, and who uses it."""
    if not 0 <= number <= 65535:
        return PortInfo(number, "invalid", (), (), reason="port numbers run from 0 to 65535")
    port_range: PortRange = "invalid"
    for definition in kb.port_ranges:
        if definition.first <= number <= definition.last:
            port_range = definition.range
            break
    services = [dev.program for dev in kb.dev_ports_for(number)]
    services += kb.iana_names_for(number)
    return PortInfo(number, port_range, kb.ephemeral_on(number), tuple(dict.fromkeys(services)))


def classify_network(ip_text: str, prefixlen: int, kb: Knowledge) -> NetworkInfo:
    """Size, first and last address, and the category of a CIDR network."""
    value = ipv4_value(ip_text) if 0 <= prefixlen <= 32 else None
    if value is not None:  # the common case, in integers, as `ipaddress` would say it
        size = 1 << (32 - prefixlen)
        first = value & ~(size - 1)
        first_text = _dotted_quad(first)
        prefix = f"{first_text}/{prefixlen}"
        found = kb.block_and_prefix_for(first, 4)
        return NetworkInfo(
            prefix,
            4,
            size,
            first_text,
            _dotted_quad(first | (size - 1)),
            found[0].category if found is not None else "public",
            reason=None if first_text == ip_text else f"host bits are set; the network is {prefix}",
        )
    try:
        net = ipaddress.ip_network(f"{ip_text}/{prefixlen}", strict=False)
    except ValueError:
        longest = 128 if ":" in ip_text else 32
        problem = (
            f"a prefix length is at most /{longest} for IPv{6 if longest == 128 else 4}, not /{prefixlen}"
            if prefixlen > longest
            else address_problem(ip_text.split("%")[0])
        )
        return NetworkInfo(f"{ip_text}/{prefixlen}", 0, 0, "", "", "invalid", reason=problem)
    info = classify_address(str(net.network_address), kb)
    reason = None
    if str(net.network_address) != ip_text.split("%")[0]:
        reason = f"host bits are set; the network is {net}"
    return NetworkInfo(
        str(net),
        net.version,
        net.num_addresses,
        str(net.network_address),
        str(net.broadcast_address),
        info.category,
        reason=reason,
    )


def _dotted_quad(value: int) -> str:
    return f"{value >> 24}.{value >> 16 & 255}.{value >> 8 & 255}.{value & 255}"


def classify(candidate: Candidate, kb: Knowledge, text: str = "") -> Finding:
    """Turn one extraction candidate into a classified finding; `text` is the message, for banners."""
    return classify_in(candidate, kb, ProgramLookup(text, kb))


class ProgramLookup:
    """The program whose banner stands on each line of one text, looked up once per line: a long
    one-line paste with thousands of findings asks about the same line each time."""

    def __init__(self, text: str, kb: Knowledge) -> None:
        self._text = text
        self._kb = kb
        self._by_line: dict[int, str | None] = {}

    def at(self, span: tuple[int, int]) -> str | None:
        """The program named on the line holding `span`."""
        text = self._text
        if not text or not self._kb.banners:
            return None
        start = text.rfind("\n", 0, span[0]) + 1
        if start not in self._by_line:
            end = text.find("\n", span[1])
            line = mask_credentials(text[start : end if end >= 0 else len(text)])  # no password is a banner
            self._by_line[start] = _program_in_line(line, self._kb)
        return self._by_line[start]


def classify_in(candidate: Candidate, kb: Knowledge, programs: ProgramLookup) -> Finding:
    """`classify` for one of many candidates of the same text, sharing the banner lookups."""
    kind = cast(FindingKind, candidate.kind)
    span = candidate.span
    if kind in ("error", "term"):
        return Finding(
            kind,
            candidate.text,
            span,
            error=kb.entries[candidate.symbol].symbol if kind == "error" and candidate.symbol else None,
            term=candidate.symbol if kind == "term" else None,
        )
    if kind == "network" and candidate.ip is not None and candidate.prefixlen is not None:
        network = classify_network(candidate.ip, candidate.prefixlen, kb)
        if candidate.invalid:
            network = NetworkInfo(network.prefix, 4, 0, "", "", "invalid", reason=candidate.invalid)
        return Finding(kind, candidate.text, span, network=network)
    address: AddressInfo | None = None
    if candidate.invalid and candidate.ip:
        address = AddressInfo(candidate.ip, 4, "invalid", reason=candidate.invalid)
    elif candidate.ip:
        address = classify_address(candidate.ip, kb)
    elif candidate.host:
        address = classify_host(candidate.host, kb)
    port = classify_port(candidate.port, kb) if candidate.port is not None else None
    return Finding(
        kind,
        candidate.text,
        span,
        host=candidate.host or None,
        address=address,
        port=port,
        scheme=candidate.scheme,
        program=programs.at(span),
        ambiguity=candidate.ambiguity,
    )


def program_on_line(text: str, span: tuple[int, int], kb: Knowledge) -> str | None:
    """The program whose banner stands on the same line as `span` ("DevTools listening on ws://...")."""
    return ProgramLookup(text, kb).at(span)


def _program_in_line(line: str, kb: Knowledge) -> str | None:
    # The first banner (in the knowledge base's order) that the line holds.
    lowered = line.lower()
    found: tuple[int, str] | None = None
    for word in kb.banner_index.keys() & line_words(lowered):
        for order, banner, entry_id in kb.banner_index[word]:
            if (found is None or order < found[0]) and banner in lowered:
                found = (order, entry_id)
    if kb.unkeyed_banner_re is None or not kb.unkeyed_banner_re.search(lowered):
        return found[1] if found else None
    for order, banner, entry_id in kb.unkeyed_banners:
        if found is not None and order > found[0]:
            break
        if banner in lowered:
            found = (order, entry_id)
            break
    return found[1] if found else None

"""The schema of `knowledge/diagnoses/*.yaml`: a cause people hit, when it applies, the lead and the fix.

id: refused-ipv6-loopback
when:                       # every key given must hold; a list holds when any of its values does
  errors: [ECONNREFUSED]
  categories: [loopback]
  versions: [6]
title: "Nothing listens on `[{ip}]:{port}`"          # the answer's first line, filled from the paste
summary: "..."                                       # the cause and what to do, at most 300 characters
fix: "..."                                           # What to do
by_service: {postgres-server: "..."}                 # optional: the fix's extra sentence per program
commands: {linux: [{cmd, says}], ...}                # optional
sources: [{title, url}]
"""

from __future__ import annotations

import ipaddress
import re
from typing import Any

from bot.core.knowledge import Conditions, Diagnosis, alias_tokens
from bot.core.model import AddressCategory
from bot.kb.schema import CATEGORIES, _Checker

MAX_TITLE = 120
MAX_LEAD = 300
MAX_FIX = 700
PLACEHOLDERS = frozenset(
    {"ip", "port", "host", "endpoint", "service", "error", "port2", "v4", "zone", "ephemeral"}
)
COMMAND_PLACEHOLDERS = frozenset({"ip", "port", "host", "port2"})
SIDES = ("bind", "connect")
HOST_KINDS = ("single-label", "dotted")
KINDS = ("endpoint", "address", "url", "port")
WHEN_KEYS = frozenset(Conditions._fields)
KEYS = frozenset({"id", "when", "title", "summary", "fix", "by_service", "commands", "sources", "priority"})
_PLACEHOLDER_RE = re.compile(r"\{([^}]*)\}")
_PORTS_RE = re.compile(r"^(\d{1,5})(?:-(\d{1,5}))?$")


def _placeholders(check: _Checker, text: str, allowed: frozenset[str], where: str) -> None:
    for name in _PLACEHOLDER_RE.findall(text):
        if name not in allowed:
            raise check.fail(
                f"'{where}' has unknown placeholder '{{{name}}}' (use {', '.join(sorted(allowed))})"
            )


def _ports(check: _Checker, value: Any) -> tuple[tuple[int, int], ...]:
    items = value if isinstance(value, list) else [value]
    out = []
    for item in items:
        m = _PORTS_RE.match(str(item)) if isinstance(item, int | str) and not isinstance(item, bool) else None
        if m is None:
            raise check.fail(f"'when.ports' item {item!r} must be a port or a range such as 0-1023")
        first, last = int(m[1]), int(m[2] or m[1])
        if not 0 <= first <= last <= 65535:
            raise check.fail(f"'when.ports' item {item!r} is not a range of ports")
        out.append((first, last))
    return tuple(out)


def _conditions(check: _Checker, value: Any) -> Conditions:
    raw = check.mapping(value, "'when'")
    unknown = set(raw) - WHEN_KEYS
    if unknown:
        raise check.fail(f"'when' has unknown condition(s): {', '.join(sorted(unknown))}")
    if not raw:
        raise check.fail("'when' must name at least one condition")

    def words(key: str) -> tuple[str, ...]:
        phrases = tuple(alias_tokens(p) for p in check.strings(raw, key))
        if not all(phrases):
            raise check.fail(f"'when.{key}' holds a phrase without words")
        return tuple(f" {' '.join(p)} " for p in phrases)

    def choice(key: str, allowed: tuple[str, ...] | frozenset[str]) -> frozenset[str]:
        values = frozenset(check.strings(raw, key))
        wrong = values - set(allowed)
        if wrong:
            raise check.fail(f"'when.{key}' has {', '.join(sorted(wrong))}; use {', '.join(sorted(allowed))}")
        return values

    side = raw.get("side")
    if side is not None and side not in SIDES:
        raise check.fail(f"'when.side' must be one of {', '.join(SIDES)}")
    versions = check.ints(raw, "versions")
    if not set(versions) <= {4, 6}:
        raise check.fail("'when.versions' must hold 4 and/or 6")
    ips = []
    for text in check.strings(raw, "ips"):
        try:
            ips.append(str(ipaddress.ip_address(text)))
        except ValueError:
            raise check.fail(f"'when.ips' item '{text}' is not an IP address") from None
    networks = []
    for text in check.strings(raw, "networks"):
        try:
            networks.append(str(ipaddress.ip_network(text, strict=True)))
        except ValueError:
            raise check.fail(f"'when.networks' item '{text}' is not a network") from None
    no_error = raw.get("no_error", False)
    if not isinstance(no_error, bool):
        raise check.fail("'when.no_error' must be true or false")
    zone = raw.get("zone")
    if zone is not None and not isinstance(zone, bool):
        raise check.fail("'when.zone' must be true or false")
    categories: frozenset[AddressCategory] = choice("categories", CATEGORIES)  # type: ignore[assignment]
    return Conditions(
        errors=frozenset(check.strings(raw, "errors")),
        no_error=no_error,
        side=side,
        words=words("words"),
        not_words=words("not_words"),
        categories=categories,
        versions=frozenset(versions),
        ips=frozenset(ips),
        networks=tuple(networks),
        hosts=frozenset(h.lower() for h in check.strings(raw, "hosts")),
        host_kinds=choice("host_kinds", HOST_KINDS),
        ports=_ports(check, raw["ports"]) if "ports" in raw else (),
        services=frozenset(check.strings(raw, "services")),
        schemes=frozenset(s.lower() for s in check.strings(raw, "schemes")),
        kinds=choice("kinds", KINDS),
        zone=zone,
    )


def parse_diagnosis(raw_value: Any, file: str) -> Diagnosis:
    """Validate one diagnosis."""
    check = _Checker(file)
    raw = check.identified(raw_value, "a diagnosis", KEYS)
    diagnosis_id = raw["id"]
    title = check.text(raw, "title", limit=MAX_TITLE)
    summary = check.text(raw, "summary", limit=MAX_LEAD)
    fix = check.text(raw, "fix", limit=MAX_FIX)
    for key, text in (("title", title), ("summary", summary), ("fix", fix)):
        if "@" in text:
            raise check.fail(f"'{key}' contains '@', which could ping on Discord")
        _placeholders(check, text, PLACEHOLDERS, key)
    by_service_raw = check.mapping(raw.get("by_service") or {}, "'by_service'")
    by_service: dict[str, str] = {}
    for service, text in by_service_raw.items():
        if not isinstance(text, str) or not text.strip() or len(text) > MAX_LEAD or "@" in text:
            raise check.fail(f"'by_service.{service}' must be text of at most {MAX_LEAD} characters, no '@'")
        _placeholders(check, text, PLACEHOLDERS, f"by_service.{service}")
        by_service[str(service)] = text.strip()
    commands = check.commands_with(raw, COMMAND_PLACEHOLDERS)
    priority = raw.get("priority", 0)
    if not isinstance(priority, int) or isinstance(priority, bool):
        raise check.fail("'priority' must be a whole number")
    return Diagnosis(
        id=diagnosis_id,
        when=_conditions(check, raw.get("when")),
        title=title,
        summary=summary,
        fix=fix,
        sources=check.sources(raw),
        by_service=by_service,
        commands=commands,
        priority=priority,
        file=file,
    )

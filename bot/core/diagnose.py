"""Diagnoses a whole message: which known cause its findings and words point to, most specific first.

Diagnoses are knowledge (`knowledge/diagnoses/*.yaml`): each names its conditions, a lead written
from the message (`{ip}`, `{port}`, ...), the fix and its sources. This step only matches them against
the findings of the message and fills the lead in; it looks nothing up that classification already
knows, and it invents nothing: a diagnosis whose lead needs a value the message lacks does not apply.
"""

from __future__ import annotations

import functools
import ipaddress
import re
from collections.abc import Mapping, Sequence
from typing import NamedTuple

from bot.core.knowledge import Command, CommandOs, Conditions, Diagnosis, Knowledge, alias_tokens
from bot.core.model import Finding
from bot.core.phrases import ephemeral_sentence

_ENDPOINT_KINDS = frozenset({"endpoint", "address", "url", "port"})
_BIND_ERRORS = frozenset({"EADDRINUSE", "EACCES"})
_BIND_WORDS = frozenset(
    {"listen", "listening", "bind", "bound", "binding", "serving", "running", "started", "starting"}
)
_CONNECT_WORDS = frozenset(
    {"connect", "connecting", "connection", "curl", "wget", "fetch", "reach", "request", "requests", "dial"}
    | {"open", "opened", "opening", "browse", "browser", "chrome", "firefox", "safari", "load", "visit"}
)
_PLACEHOLDER_RE = re.compile(r"\{(\w+)\}")
_MAPPED_PORT_RE = re.compile(r":(\d{1,5})(?![\d.:])")
_TWO_PORTS_RE = re.compile(r"(?<=[\d\]]):\d{1,5}:(\d{1,5})$")


class Diagnosed(NamedTuple):
    """A diagnosis that applies to this message, with its text filled in from it."""

    id: str
    title: str
    summary: str
    fix: str
    commands: Mapping[CommandOs, tuple[Command, ...]]
    diagnosis: Diagnosis
    subject: Finding | None


class Message(NamedTuple):
    """What the conditions are tested against: the message's words, errors and side, worked out once."""

    text: str  # the words, space-separated, with a space at each end
    errors: frozenset[str]
    side: str | None
    subjects: tuple[Finding, ...]


def read_message(text: str, findings: Sequence[Finding], kb: Knowledge) -> Message:
    """The facts about the whole message that diagnoses test."""
    tokens = alias_tokens(text)
    words = frozenset(tokens)
    errors = {f.error for f in findings if f.kind == "error" and f.error}
    errors |= {f.term for f in findings if f.kind == "term" and f.term and kb.term_triggers(f.term, f.text)}
    if errors & _BIND_ERRORS or words & _BIND_WORDS:
        side: str | None = "bind"
    elif "EADDRNOTAVAIL" in errors and "connect" not in words:
        side = "bind"  # an address this machine does not have, asked for by bind()
    elif errors or words & _CONNECT_WORDS:
        side = "connect"
    else:
        side = None
    return Message(f" {' '.join(tokens)} ", frozenset(errors), side, _subjects(text, findings))


def _subjects(text: str, findings: Sequence[Finding]) -> tuple[Finding, ...]:
    """The address-like findings, those an error is about first: on an error's line, nearest after it."""
    subjects = [f for f in findings if f.kind in _ENDPOINT_KINDS]
    errors = [f.span[0] for f in findings if f.kind == "error"]
    if not errors or len(subjects) < 2:
        return tuple(subjects)

    def distance(f: Finding) -> tuple[int, int]:
        best = min(errors, key=lambda e: abs(f.span[0] - e))
        same_line = "\n" not in text[min(best, f.span[0]) : max(best, f.span[0])]
        return (0 if same_line else 1, abs(f.span[0] - best) + (0 if f.span[0] > best else 1))

    return tuple(sorted(subjects, key=distance))


def services_of(f: Finding, kb: Knowledge) -> tuple[str, ...]:
    """The programs a finding points to: the one named on its line, then those known on its port."""
    named = (f.program,) if f.program else ()
    on_port = tuple(d.entry for d in kb.dev_ports_for(f.port.number) if d.entry) if f.port else ()
    return tuple(dict.fromkeys((*named, *on_port)))


def _host_kind(f: Finding) -> str | None:
    host = f.host
    if not host or (f.address is not None and f.address.ip is not None):
        return None
    return "dotted" if "." in host.strip(".") else "single-label"


@functools.lru_cache(maxsize=256)
def _network(prefix: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
    return ipaddress.ip_network(prefix)


@functools.lru_cache(maxsize=256)
def _address(ip: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(ip.split("%")[0])
    except ValueError:
        return None


def _in_networks(ip: str, networks: tuple[str, ...]) -> bool:
    address = _address(ip)
    return address is not None and any(address in _network(n) for n in networks)


def _fits(when: Conditions, f: Finding, kb: Knowledge) -> bool:
    """Whether the endpoint conditions hold for `f`."""
    if when.kinds and f.kind not in when.kinds:
        return False
    address = f.address
    if when.categories and (address is None or address.category not in when.categories):
        return False
    if when.versions:
        version = address.version if address is not None else None
        if version not in when.versions:
            return False
    ip = address.ip if address is not None else None
    if when.ips and (ip is None or _canonical(ip) not in when.ips):
        return False
    if when.networks and (ip is None or not _in_networks(ip, when.networks)):
        return False
    if when.hosts and (f.host or "").lower() not in when.hosts:
        return False
    if when.host_kinds and _host_kind(f) not in when.host_kinds:
        return False
    if when.ports:
        number = f.port.number if f.port is not None else None
        if number is None or not any(first <= number <= last for first, last in when.ports):
            return False
    if when.schemes and (f.scheme or "").lower() not in when.schemes:
        return False
    if when.zone is not None and (_zone(f) is not None) != when.zone:
        return False
    return not when.services or not when.services.isdisjoint(services_of(f, kb))


def _zone(f: Finding) -> str | None:
    """The zone an IPv6 address was written with (`fe80::1%eth0`, `[fe80::1%25eth0]` in a URL), if any."""
    if f.address is None or f.address.ip is None or "%" not in f.text:
        return None
    zone = f.text.split("%", 1)[1]
    if f.kind == "url" and zone.startswith("25"):
        zone = zone[2:]  # "%25" is how a URL writes the "%"
    zone = zone.split("]", 1)[0]
    return zone or None


def _canonical(ip: str) -> str:
    if ":" not in ip:
        return ip  # IPv4 is classified in its one strict form
    address = _address(ip)
    return str(address) if address is not None else ip


def _holds(when: Conditions, message: Message) -> bool:
    """Whether the conditions about the whole message hold."""
    if when.errors and when.errors.isdisjoint(message.errors):
        return False
    if when.no_error and message.errors:
        return False
    if when.side is not None and message.side != when.side:
        return False
    # Phrases are kept as " word word ", so a substring test matches whole words (a few per diagnosis:
    # cheaper than compiling a pattern for each, which a one-off command line would pay at every start).
    text = message.text
    if when.words and not any(p in text for p in when.words):
        return False
    return not any(p in text for p in when.not_words)


def display(f: Finding) -> str:
    """How an answer writes a finding: the URL as given, `host:port`, `[v6]:port`, or `port N`."""
    if f.kind == "url":
        return f.text
    host = f.host or (f.address.ip if f.address else None)
    if host and f.port is not None:
        return f"[{host}]:{f.port.number}" if ":" in host else f"{host}:{f.port.number}"
    if host:
        return host
    return f"port {f.port.number}" if f.port else f.text


def embedded_ipv4(ip: str) -> str | None:
    """The IPv4 address inside an IPv4-mapped, 6to4, Teredo (the client's) or NAT64 address."""
    if ":" not in ip:
        return None
    try:
        address = ipaddress.ip_address(ip.split("%")[0])
    except ValueError:
        return None
    if not isinstance(address, ipaddress.IPv6Address):
        return None
    if address.ipv4_mapped is not None:
        return str(address.ipv4_mapped)
    if address.sixtofour is not None:
        return str(address.sixtofour)
    if address.teredo is not None:
        return str(address.teredo[1])
    if address in ipaddress.ip_network("64:ff9b::/96"):
        return str(ipaddress.IPv4Address(int(address) & 0xFFFFFFFF))
    return None


def _values(
    text: str, f: Finding | None, message: Message, kb: Knowledge, when: Conditions
) -> dict[str, str]:
    """The placeholders this message can fill for a diagnosis with conditions `when`."""
    values = dict(_subject_values(text, f, kb)) if f is not None else {}
    errors = sorted(message.errors & when.errors) or sorted(message.errors)
    if errors:
        values["error"] = errors[0]
    if f is not None:
        services = [s for s in services_of(f, kb) if not when.services or s in when.services]
        if services and services[0] in kb.entries:
            values["service"] = kb.entries[services[0]].title.split(" (")[0]
    return values


@functools.lru_cache(maxsize=256)  # one message's diagnoses ask about the same few findings
def _subject_values(text: str, f: Finding, kb: Knowledge) -> dict[str, str]:
    """The placeholders a finding fills whatever the diagnosis: its address, host, ports."""
    values = {"endpoint": display(f)}
    ip = f.address.ip if f.address is not None else None
    if ip:
        values["ip"] = ip
        inner = embedded_ipv4(ip)
        if inner:
            values["v4"] = inner
        zone = _zone(f)
        if zone:
            values["zone"] = zone
    if f.host or ip:
        values["host"] = f.host or ip or ""
    if f.port is not None:
        values["port"] = str(f.port.number)
        if f.port.range not in ("invalid", "well-known"):
            values["ephemeral"] = ephemeral_sentence(f.port.ephemeral_on, kb)
        # The port after the subject's: the container port in `-p 8080:80`, `-p 5432:5432` or
        # `-p 127.0.0.1:8080:80` (where the endpoint's own text holds both).
        mapped = _MAPPED_PORT_RE.match(text, f.span[1]) or _TWO_PORTS_RE.search(f.text)
        if mapped is not None:
            values["port2"] = mapped.group(1)
    return values


def _fill(template: str, values: Mapping[str, str]) -> str | None:
    """The template with its placeholders filled, or None when the message lacks one of them."""
    missing = False

    def sub(m: re.Match[str]) -> str:
        nonlocal missing
        value = values.get(m.group(1))
        if value is None:
            missing = True
            return ""
        return value

    filled = _PLACEHOLDER_RE.sub(sub, template)
    return None if missing else filled


def _filled_commands(
    commands: Mapping[CommandOs, tuple[Command, ...]], values: Mapping[str, str]
) -> dict[CommandOs, tuple[Command, ...]]:
    """The commands whose placeholders the message fills, filled; the others are left out."""
    out: dict[CommandOs, tuple[Command, ...]] = {}
    for os_id, cmds in commands.items():
        kept = []
        for c in cmds:
            cmd, says = _fill(c.cmd, values), _fill(c.says, values)
            if cmd is not None and says is not None:
                kept.append(Command(cmd, says))
        if kept:
            out[os_id] = tuple(kept)
    return out


def diagnose(text: str, findings: Sequence[Finding], kb: Knowledge) -> tuple[Diagnosed, ...]:
    """The diagnoses that apply to this message, most specific first (empty when none does)."""
    if not kb.diagnoses or not findings:
        return ()
    message = read_message(text, findings, kb)
    out: list[Diagnosed] = []
    candidates = set(kb.diagnoses_needing_no_error)
    for name in message.errors:
        candidates.update(kb.diagnoses_needing.get(name, ()))
    categories = {f.address.category for f in message.subjects if f.address is not None}
    for index in sorted(candidates):
        diagnosis = kb.diagnoses[index]
        when = diagnosis.when
        if when.categories and when.categories.isdisjoint(categories):
            continue  # the cheapest test that rules most of them out
        if not _holds(when, message):
            continue
        if when.about_endpoint:
            subjects: list[Finding | None] = [f for f in message.subjects if _fits(when, f, kb)]
        else:
            subjects = [*message.subjects, None]
        # The first subject whose values fill the whole text: a bare `0.0.0.0` cannot fill `{port}`,
        # the `http://0.0.0.0:8000/` after it can.
        for subject in subjects:
            values = _values(text, subject, message, kb, when)
            title = _fill(diagnosis.title, values)
            summary = _fill(diagnosis.summary, values)
            fix = _fill(diagnosis.fix, values)
            if title is not None and summary is not None and fix is not None:
                break
        else:
            continue
        service = subject is not None and next(
            (s for s in services_of(subject, kb) if s in diagnosis.by_service), None
        )
        if service:
            extra = _fill(diagnosis.by_service[service], values)
            if extra:
                fix = f"{fix}\n{extra}"
        commands = _filled_commands(diagnosis.commands, values)
        out.append(Diagnosed(diagnosis.id, title, summary, fix, commands, diagnosis, subject))
    return tuple(out)

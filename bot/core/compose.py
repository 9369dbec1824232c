"""Writes answers from classified findings and knowledge entries. Nothing here invents a fact: every
sentence is either an entry's own text or a statement of registry data (a range, a block, a service).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Mapping, Sequence

from bot.core.diagnose import Diagnosed, display
from bot.core.knowledge import COMMAND_OSES, AddressBlock, Command, CommandOs, Entry, Knowledge, Source
from bot.core.model import Answer, Finding, OsId, Reference, Section
from bot.core.phrases import ephemeral_sentence, join_words

OS_NAMES: dict[CommandOs, str] = {"linux": "Linux", "macos": "macOS", "windows": "Windows"}
RANGE_NAMES = {
    "well-known": "system (well-known)",
    "registered": "user (registered)",
    "dynamic": "dynamic/private",
}
CATEGORY_LABELS = {
    "loopback": "loopback",
    "private": "private-use",
    "shared": "shared (carrier-grade NAT)",
    "link-local": "link-local",
    "multicast": "multicast",
    "documentation": "documentation",
    "unspecified": "unspecified (all interfaces)",
    "broadcast": "broadcast",
    "benchmarking": "benchmarking",
    "reserved": "reserved",
    "this-network": "'this network'",
    "ietf-protocol": "IETF protocol",
    "unique-local": "unique local",
    "ipv4-mapped": "IPv4-mapped IPv6",
    "nat64": "NAT64",
    "teredo": "Teredo",
    "6to4": "6to4",
    "discard": "discard-only",
    "public": "public",
    "invalid": "invalid",
}
MAX_REFERENCES = 8
MAX_OS_COMMANDS = 6
MAX_ALSO = 2  # other diagnoses named under "Also possible"
MAX_LEAD = 300  # characters of the summary: the lead must be read at a glance
PROSE_BUDGET = 1200  # characters of prose (summary and sections, not commands) in the full answer
MIN_SECTION = 120  # a section cut shorter than this is left out instead
FIX_HEADING = "What to do"
# The registry's names at the end of a port note ("IANA name: hbci."): data for the source checks, not
# prose; the answer names IANA's registrations itself where they matter.
_IANA_NOTE = re.compile(r"\s*IANA(?: name)?: [^.]*\.?\s*$")
MAX_SUMMARY_PROGRAMS = 4  # programs a summary names for a port before "or one of N other programs"
NOTHING_FOUND = Answer(
    title="Nothing to explain here",
    summary=(
        "I found no address, port, URL, network, socket error or networking term in that. Try "
        "`127.0.0.1:62893`, `port 5432`, `connect ECONNREFUSED ::1:5432` or `what is an ephemeral port?`."
    ),
)


def nothing_found_in_cut(read: int, length: int) -> Answer:
    """What to say when nothing was found in the part of a long text that was read."""
    return Answer(
        title=f"Nothing to explain in the first {read:,} characters",
        summary=(
            f"That text is {length:,} characters long and I read only the first {read:,}, where I found no "
            "address, port, URL, network, socket error or networking term. Paste the lines around the "
            "error instead, or give a whole log to `netexplain scan`, which reads every line."
        ),
    )


def compose(
    findings: Iterable[Finding],
    kb: Knowledge,
    *,
    brief: bool = False,
    diagnosed: Sequence[Diagnosed] = (),
) -> tuple[Answer, tuple[Answer, ...]]:
    """The answer and one answer per explained thing (errors first, then endpoints, programs, terms).

    The answer leads with the diagnosis of the whole message when one applies (`diagnosed`, best
    first), else with the most specific thing found; then each thing once, within `PROSE_BUDGET`.
    `brief` answers carry title, summary, references and entry ids but no sections: enough for a
    compact reply, at about half the cost.
    """
    findings = list(findings)
    if not findings:
        return NOTHING_FOUND, ()
    context_port = next((f.port.number for f in findings if f.port and f.port.range != "invalid"), None)
    context_ip = next((f.address.ip for f in findings if f.address and f.address.ip), None)
    fill = _Placeholders(context_port, context_ip)
    parts: list[Answer] = []
    explained: set[str] = set()
    if any(f.port is not None for f in findings):
        explained.add("port")  # the port's own answer already says what a port is
    seen_subjects: set[tuple[object, ...]] = set()
    for f in findings:  # errors first: socket errors, and terms found as error output ("querySrv")
        if f.kind == "error" and f.error:
            entry_id = kb.error_symbols.get(f.error)
        elif f.kind == "term" and f.term and kb.term_triggers(f.term, f.text):
            entry_id = f.term
        else:
            continue
        if entry_id and entry_id not in explained:
            explained.add(entry_id)
            parts.append(entry_answer(kb.entries[entry_id], kb, fill, brief=brief))
    errors_found = len(parts)
    for f in findings:
        if f.kind in ("error", "term"):
            continue
        subject = _subject(f)
        if subject in seen_subjects:
            continue
        seen_subjects.add(subject)
        if f.kind == "network":
            answer = network_answer(f, kb)
            parts.append(answer._replace(sections=()) if brief else answer)
        else:
            parts.append(endpoint_answer(f, kb, fill, brief=brief))
        if f.address and f.address.entry_id:
            explained.add(f.address.entry_id)
        special = kb.entry_for_address(f.address.ip) if f.address and f.address.ip else None
        if special is not None:
            explained.add(special.id)  # its answer already carries the entry
    for f in findings:
        if f.program and f.program not in explained:
            explained.add(f.program)
            parts.append(entry_answer(kb.entries[f.program], kb, fill, brief=brief))
    for f in findings:
        if f.kind == "term" and f.term and f.term not in explained:
            explained.add(f.term)
            parts.append(entry_answer(kb.entries[f.term], kb, fill, brief=brief))
    if diagnosed:
        lead = diagnosis_answer(diagnosed[0], diagnosed[1 : 1 + MAX_ALSO], brief=brief)
        # The diagnosis explains its error in this paste's terms: the generic text waits behind More.
        covered = {kb.error_symbols.get(name, name) for name in diagnosed[0].diagnosis.when.errors}
        rest = [p for p in parts if not (p.entry_ids and p.entry_ids[0] in covered)]
    else:
        # A generic error is named by the endpoint it was about; the lead's own part is not said again.
        named = errors_found and len(parts) > errors_found
        lead = _named(parts[0], parts[errors_found]) if named else parts[0]
        rest = parts[1:]
    if not brief:
        parts = [tidy(p, None) for p in parts]
    return combine(lead, rest, brief=brief, diagnosed=bool(diagnosed)), tuple(parts)


def _named(error: Answer, endpoint: Answer) -> Answer:
    """An error's answer with the endpoint it was about in its first line."""
    where = endpoint.title.split(" — ", 1)[0]
    return error._replace(title=f"{error.title} — {where}"[:256])


def diagnosis_answer(lead: Diagnosed, also: Sequence[Diagnosed] = (), *, brief: bool = False) -> Answer:
    """The answer a diagnosis gives: its lead, its fix, other possible causes, its commands."""
    refs = _refs(lead.diagnosis.sources)
    if brief:
        return Answer(lead.title, lead.summary, (), refs, (lead.id,))
    sections = [Section(FIX_HEADING, lead.fix)]
    if also:
        sections.append(Section("Also possible", "\n".join(f"- {d.title}" for d in also)))
    sections += [
        Section(OS_NAMES[os_id], "\n".join(f"`{c.cmd}` — {c.says}" for c in lead.commands[os_id]), os=os_id)
        for os_id in COMMAND_OSES
        if lead.commands.get(os_id)
    ]
    return Answer(lead.title, lead.summary, tuple(sections), refs, (lead.id,))


def combine(lead: Answer, parts: Sequence[Answer], *, brief: bool = False, diagnosed: bool = False) -> Answer:
    """One answer: the lead in full, then each other part as one short section, commands merged.

    `brief`: the lead's title and summary with everyone's references, and no sections. `diagnosed`: the
    lead is a diagnosis, whose commands stand alone for each OS it has commands for.
    """
    every = [lead, *parts]
    refs = _refs(r for part in every for r in part.references)
    ids = tuple(dict.fromkeys(i for p in every for i in p.entry_ids))
    if brief:
        return Answer(lead.title, lead.summary, (), tuple(refs[:MAX_REFERENCES]), ids)
    plain = [s for s in lead.sections if s.os is None]
    plain += [Section(p.title, p.summary) for p in parts]
    os_sections = []
    for os_id in COMMAND_OSES:
        lines: dict[str, str] = {}  # each command once (`cmd` — what it says), the first part's wording
        # A diagnosis's commands for an OS are the ones for this paste; the parts' wait behind "More".
        own = diagnosed and any(s.os == os_id for s in lead.sections)
        for part in [lead] if own else every:
            for section in part.sections:
                if section.os == os_id:
                    for line in section.body.split("\n"):
                        lines.setdefault(line.split(" — ", 1)[0], line)
        if lines:
            shown = list(lines.values())[:MAX_OS_COMMANDS]
            os_sections.append(Section(OS_NAMES[os_id], "\n".join(shown), os=os_id))
    return tidy(
        Answer(
            title=lead.title,
            summary=lead.summary,
            sections=(*plain, *os_sections),
            references=tuple(refs[:MAX_REFERENCES]),
            entry_ids=ids,
        )
    )


# A sentence ends at ". ", "! " or "? " before a capital, a backtick, a parenthesis or a digit; a list
# item ("- ...") is a unit of its own.
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z`(\d*])")


@functools.lru_cache(maxsize=4096)  # knowledge text repeats from answer to answer
def _units(body: str) -> tuple[tuple[str, str], ...]:
    """The sentences of a section body, each with the separator that followed it."""
    out: list[tuple[str, str]] = []
    lines = body.split("\n")
    for i, line in enumerate(lines):
        pieces = _SENTENCE_END.split(line) if not line.lstrip().startswith("- ") else [line]
        for j, piece in enumerate(pieces):
            out.append((piece, " " if j < len(pieces) - 1 else ("\n" if i < len(lines) - 1 else "")))
    return tuple(out)


@functools.lru_cache(maxsize=8192)
def _key(sentence: str) -> str:
    return " ".join(sentence.lower().replace("*", "").split()).rstrip(".")


def tidy(answer: Answer, budget: int | None = PROSE_BUDGET) -> Answer:
    """The answer with each sentence said once (the summary's first), and its prose within `budget`
    characters. "What to do" gets its room first; sections past the budget are cut at a sentence or
    left out (the parts behind "More" still hold them)."""
    seen = {_key(c) for u, _ in _units(answer.summary) for c in (u, *u.split("; "))}
    bodies: dict[int, str] = {}
    for i, section in enumerate(answer.sections):
        if section.os is None:
            bodies[i] = _unsaid(section.body, seen)
    if budget is None:  # a full answer behind "More": each sentence once, at any length
        budget = len(answer.summary) + sum(len(b) for b in bodies.values())
    room = budget - len(answer.summary)
    for i in sorted(bodies, key=lambda i: answer.sections[i].heading != FIX_HEADING):
        body = bodies[i]
        if len(body) > room:
            body = _first_sentences(body, room) if room >= MIN_SECTION else ""
        bodies[i] = body
        room -= len(body)
    kept = [s if s.os is not None else s._replace(body=bodies[i]) for i, s in enumerate(answer.sections)]
    return answer._replace(sections=tuple(s for s in kept if s.body))


def _unsaid(body: str, seen: set[str]) -> str:
    """`body` without the sentences, or the clauses between semicolons, in `seen`, which it then adds
    its own to: "Port 80 is well-known; it is outside every range" after "It is outside every range"
    keeps only "Port 80 is well-known."."""
    out = ""
    for unit, sep in _units(body):
        key = _key(unit)
        if key in seen:
            continue
        clauses = unit.split("; ")
        if len(clauses) > 1:
            kept = [c for c in clauses if _key(c) not in seen]
            if not kept:
                continue
            if len(kept) < len(clauses):
                unit = "; ".join(kept).rstrip(".") + "."
                unit = unit[0].upper() + unit[1:]
            seen.update(_key(c) for c in clauses)
        if key:
            seen.add(key)
        out += unit + sep
    return re.sub(r"\n{3,}", "\n\n", out).strip()


class _Placeholders:
    """Fills `{port}` and `{ip}` in commands from the message; a command needing one the message
    lacks is left out (None), rather than shown with a placeholder to replace by hand."""

    def __init__(self, port: int | None, ip: str | None) -> None:
        self.port = str(port) if port is not None else None
        self.ip = ip

    def __call__(self, command: Command) -> str | None:
        cmd = command.cmd
        for name, value in (("{port}", self.port), ("{ip}", self.ip)):
            if name in cmd:
                if value is None:
                    return None
                cmd = cmd.replace(name, value)
        return f"`{cmd}` — {command.says}"


def _subject(f: Finding) -> tuple[object, ...]:
    ip = f.address.ip if f.address else None
    return (f.kind == "network", ip or f.host, f.port.number if f.port else None, f.network)


def _refs(sources: Iterable[Source]) -> tuple[Reference, ...]:
    """References in first-cited order, each page once: two titles for one URL (a block's "RFC 6598"
    and a diagnosis's "RFC 6598 (100.64.0.0/10, ...)") are one source. An entry's sources are
    references as they are."""
    by_url: dict[str, Reference] = {}
    for source in sources:
        by_url.setdefault(source.url, source)
    return tuple(by_url.values())


def _os_sections(
    commands: Mapping[CommandOs, tuple[Command, ...]],
    fill: _Placeholders,
    fallback: Mapping[CommandOs, tuple[Command, ...]] = {},
) -> list[Section]:
    """Per-OS command sections; where the message lacks a value every one of an OS's commands needs (an
    error pasted without its port), the `fallback` commands that need none (list every listener)."""
    sections = []
    for os_id in COMMAND_OSES:
        lines = [line for line in map(fill, commands.get(os_id, ())) if line is not None]
        if not lines and commands.get(os_id):
            lines = [line for line in map(fill, fallback.get(os_id, ())) if line is not None]
        if lines:
            sections.append(Section(OS_NAMES[os_id], "\n".join(lines), os=os_id))
    return sections


def entry_answer(
    entry: Entry, kb: Knowledge, fill: _Placeholders | None = None, *, brief: bool = False
) -> Answer:
    """An answer written from one term, error or program entry (`brief`: without sections)."""
    if brief:
        return Answer(entry.title, entry.summary, (), _refs(entry.sources), (entry.id,))
    fill = fill or _Placeholders(None, None)
    listening = kb.entries.get("listening")
    sections = [
        Section("What it is", entry.what),
        Section("What it means for you", entry.means),
        Section(FIX_HEADING, entry.do),
        *_os_sections(entry.commands, fill, listening.commands if listening else {}),
    ]
    return Answer(entry.title, entry.summary, tuple(sections), _refs(entry.sources), (entry.id,))


def _a(label: str) -> str:
    """The label with its indefinite article: "a loopback", "an unspecified", "an IETF protocol"."""
    return f"{'an' if label.startswith(AN_LABELS) else 'a'} {label}"


AN_LABELS = ("unspecified", "invalid", "IETF", "IPv4")


def endpoint_answer(f: Finding, kb: Knowledge, fill: _Placeholders, *, brief: bool = False) -> Answer:
    """An answer for an address, endpoint, URL or bare port, from the registry data and entries
    (`brief`: without sections, and without writing the sentences only sections show)."""
    what: list[str] = []  # "What it is" (and the summary when there is no short statement)
    brief_lines: list[str] = []  # the summary: one short statement per part of the endpoint
    means: list[str] = []
    sources: list[Source] = []
    tags: list[str] = []
    entries: list[str] = []
    commands_from: Entry | None = None
    special: Entry | None = None  # an entry about this very address (169.254.169.254)
    full = not brief

    address = f.address
    if address is not None:
        label = CATEGORY_LABELS[address.category]
        if address.category == "invalid":
            tags.append("invalid address")
            what.append(f"`{address.ip}` is not a valid IP address: {address.reason}.")
        elif address.ip is None:
            entry = kb.entries.get("localhost")
            tags.append("loopback name")
            if entry is not None:
                what.append(entry.summary)
                brief_lines.append(entry.summary)
                means.append(entry.means)
                sources += entry.sources
                entries.append(entry.id)
        else:
            tags.append(f"{label} address")
            block = kb.block_for_text(address.ip)
            if block is not None:
                prefix = address.block or str(block.network)  # classification wrote the prefix out once
                if full:
                    what.append(f"`{address.ip}` is in {prefix} ({block.name}, {block.rfc}). {block.summary}")
                brief_lines.append(f"`{address.ip}` is {_a(label)} address ({prefix}). {block.reach}")
                means.append(block.reach)
                sources += block.sources
                if block.entry and block.entry in kb.entries:
                    entries.append(block.entry)
            else:
                if full:
                    what.append(
                        f"`{address.ip}` is in none of the IANA special-purpose blocks: an ordinary "
                        f"{'public' if address.version == 4 else 'unlisted'} IPv{address.version} address."
                    )
                sources.append(IANA_SPECIAL[6 if address.version == 6 else 4])
            special = kb.entry_for_address(address.ip)
            if special is not None:
                what.append(special.summary)
                brief_lines.append(special.summary)
                means.append(special.means)
                sources += special.sources

    if f.ambiguity:  # an unbracketed IPv6 address that may end in a port: say so rather than guess
        brief_lines.append(f"Without brackets this is ambiguous: {f.ambiguity}.")
    port = f.port
    if port is not None:
        if port.range == "invalid":
            tags.append("invalid port")
            what.append(f"{port.number} is not a valid port: {port.reason}.")
        else:
            definition = next(d for d in kb.port_ranges if d.range == port.range)
            tags.append(f"{port.range} port")
            if full:
                what.append(
                    f"Port {port.number} is in the {RANGE_NAMES[port.range]} range "
                    f"({definition.first}–{definition.last}) of RFC 6335."
                )
            range_entry = kb.entries.get(definition.entry)
            if range_entry is not None:
                sources += range_entry.sources
            if port.number == 0:  # no OS range holds 0, yet binding it is how one asks the OS for a port
                brief_lines.append(PORT_ZERO)
                sources.append(IP_7)
            else:
                ephemeral = ephemeral_sentence(port.ephemeral_on, kb)
                brief_lines.append(
                    f"Port {port.number} is in the IANA {port.range} range; "
                    f"{ephemeral[0].lower()}{ephemeral[1:]}"
                )
                sources += _ephemeral_sources(port.ephemeral_on, kb)
            devs = kb.dev_ports_for(port.number)
            registered = bool(kb.iana.get(port.number))  # (`iana_for` would parse the rows)
            if devs:
                users = list(dict.fromkeys(d.program for d in devs))
                programs = join_words(users)
                if full and len(users) > MAX_SUMMARY_PROGRAMS:  # the summary names only the first few
                    means.append(f"In developer chat, port {port.number} usually means {programs}.")
                if len(users) > MAX_SUMMARY_PROGRAMS:  # the summary names the first few; the section all
                    shown, rest = users[: MAX_SUMMARY_PROGRAMS - 1], len(users) - MAX_SUMMARY_PROGRAMS + 1
                    programs = f"{', '.join(shown)} or one of {rest} other programs"
                brief_lines.append(f"It usually means {programs}.")
                means += [_IANA_NOTE.sub("", d.note) for d in devs[:2] if d.note]
                sources += [d.source for d in devs[:MAX_SUMMARY_PROGRAMS]]  # those the summary can name
                # One program's advice only when every program known on this port is that one: on a
                # shared port (8080: webpack, Spring Boot, .NET) the first step is to see which listens.
                owners = {d.entry for d in devs}
                owner = owners.pop() if len(owners) == 1 else None
                commands_from = kb.entries.get(owner) if owner else None
            if registered:
                if full:
                    names = join_words(dict.fromkeys(s.name for s in kb.iana_for(port.number)[:4]))
                    prefix = "IANA also lists" if devs else "IANA lists"
                    what.append(
                        f"{prefix} {names} for this port (registration is not proof of what runs there)."
                    )
                sources.append(IANA_PORTS)
            elif not devs and port.number != 0:
                brief_lines.append("No service is registered for it with IANA.")
                sources.append(IANA_PORTS)
            if not devs and port.ephemeral_on:
                eph = kb.entries.get("ephemeral-port")
                if eph is not None:
                    means.append(eph.means)
                    entries.append(eph.id)

    if brief and not brief_lines:  # the summary is the "What it is" text: write the full answer
        return endpoint_answer(f, kb, fill)._replace(sections=())
    if f.program and f.program in kb.entries:
        commands_from = kb.entries[f.program]  # the program named on the line, not a guess from the port
    elif special is not None:
        commands_from = special
    listening = kb.entries.get("listening")
    if port is not None and _udp_only(kb, port.number):
        listening = kb.entries.get("udp")  # its listeners are UDP sockets: TCP commands would show nothing
    if port is not None and port.number == 0:
        listening = None  # nothing listens on port 0 itself
    do: list[str] = []
    if commands_from is None and port is not None and listening is not None:
        commands_from = listening
        do.append(listening.do)
    elif commands_from is not None:
        do.append(commands_from.do)
    elif address is not None and address.entry_id and address.entry_id in kb.entries:
        do.append(kb.entries[address.entry_id].do)
    title = display(f) + (f" — {join_words(tags)}" if tags else "")
    lead = " ".join(brief_lines or what) or display(f)
    summary = _first_sentences(lead, MAX_LEAD)
    if brief_lines and summary != lead and not summary.endswith("…"):  # the rest opens the detail
        what.append(lead[len(summary) :].strip())
    if brief:
        if commands_from is not None:
            entries.append(commands_from.id)
        return Answer(title[:256], summary, (), _refs(sources), tuple(entries))
    sections = [Section("What it is", " ".join(what))]
    if means:
        sections.append(Section("What it means for you", "\n\n".join(dict.fromkeys(means))))
    if do:
        sections.append(Section(FIX_HEADING, do[0]))
    if commands_from is not None:
        sections += _os_sections(commands_from.commands, fill)
        entries.append(commands_from.id)
    return Answer(title[:256], summary, tuple(sections), _refs(sources), tuple(entries))


def _udp_only(kb: Knowledge, port: int) -> bool:
    """Whether every program known on `port` speaks UDP only (DNS 53, DHCP 67, mDNS 5353)."""
    devs = kb.dev_ports_for(port)
    return bool(devs) and all(d.protocol == "udp" for d in devs)


def network_answer(f: Finding, kb: Knowledge) -> Answer:
    """An answer for a CIDR network: its size, first and last address, and its registry block."""
    net = f.network
    assert net is not None
    if net.category == "invalid":
        return Answer(f"{f.text} — invalid network", f"`{f.text}` is not a valid network: {net.reason}.")
    what = f"{net.prefix} holds {net.size:,} addresses, from {net.first} to {net.last}." + (
        f" Note: {net.reason}." if net.reason else ""
    )
    block = kb.block_for_text(net.first)
    sections = [Section("What it is", what)]
    sources: list[Source] = []
    if block is not None:
        sections.append(
            Section("Registry block", f"{block.network} ({block.name}, {block.rfc}). {block.summary}")
        )
        sections.append(Section("What it means for you", block.reach))
        sources += block.sources
    cidr = kb.entries.get("cidr")
    if cidr is not None:
        sources += cidr.sources
    label = CATEGORY_LABELS[net.category]
    return Answer(
        f"{net.prefix} — {label} network, {net.size:,} addresses",
        _first_sentences(what + _block_sentence(net.prefix, block), MAX_LEAD),
        tuple(sections),
        _refs(sources),
        ("cidr",) if cidr else (),
    )


def _block_sentence(prefix: str, block: AddressBlock | None) -> str:
    """Where a network sits in the registry: the block itself, or inside a larger one."""
    if block is None:
        return ""
    if str(block.network) == prefix:
        return f" It is the registry's {block.name} block ({block.rfc})."
    return f" It lies in {block.network}, {block.name}."


IANA_SPECIAL = {
    4: Source(
        "IANA IPv4 Special-Purpose Address Registry",
        "https://www.iana.org/assignments/iana-ipv4-special-registry/",
    ),
    6: Source(
        "IANA IPv6 Special-Purpose Address Registry",
        "https://www.iana.org/assignments/iana-ipv6-special-registry/",
    ),
}
PORT_ZERO = (
    "Port 0 is reserved and never a destination: binding a socket to port 0 asks the OS to pick a free "
    "port from its ephemeral range."
)
IP_7 = Source(
    "ip(7): ip_local_port_range and binding port 0", "https://man7.org/linux/man-pages/man7/ip.7.html"
)
IANA_PORTS = Source(
    "IANA Service Name and Port Number Registry",
    "https://www.iana.org/assignments/service-names-port-numbers/",
)


@functools.lru_cache(maxsize=32)
def _ephemeral_sources(on: tuple[OsId, ...], kb: Knowledge) -> tuple[Source, ...]:
    """The sources of the ephemeral ranges a port's sentence names: those holding it, and Linux's."""
    return tuple(r.source for r in kb.ephemeral if r.os in on or r.os == "linux")


def _first_sentences(text: str, limit: int = 400) -> str:
    if len(text) <= limit:
        return text
    cut = text.rfind(". ", 0, limit)
    return text[: cut + 1] if cut > 0 else text[: limit - 1] + "…"

"""Finds addresses, endpoints, URLs, networks, ports, socket errors and terms in text, with exact spans.

Extraction only says *what* and *where*; `bot.core.classify` says what each thing means. Every pattern
here is linear in the length of the text (no nested quantifiers over the same characters), and the
cheap `may_contain_findings` test lets a passive scan skip ordinary chatter at about the cost of
reading it.
"""

from __future__ import annotations

import functools
import ipaddress
import re
from bisect import bisect_right
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import NamedTuple

from bot.core.knowledge import WORD_RE, Knowledge, ipv4_value

MAX_TEXT = 20_000  # longer input is cut: a chat message is at most 4,000 characters

# Schemes people paste, with the port each uses when none is written.
DEFAULT_PORTS: dict[str, int] = {
    "http": 80,
    "https": 443,
    "ws": 80,
    "wss": 443,
    "ftp": 21,
    "ftps": 990,
    "sftp": 22,
    "ssh": 22,
    "telnet": 23,
    "smtp": 25,
    "smtps": 465,
    "imap": 143,
    "imaps": 993,
    "ldap": 389,
    "ldaps": 636,
    "postgres": 5432,
    "postgresql": 5432,
    "mysql": 3306,
    "mariadb": 3306,
    "mongodb": 27017,
    "redis": 6379,
    "rediss": 6379,
    "amqp": 5672,
    "amqps": 5671,
    "mqtt": 1883,
    "mqtts": 8883,
    "nats": 4222,
    "rtsp": 554,
    "vnc": 5900,
    "rdp": 3389,
    "git": 9418,
    "tcp": 0,
    "tcp4": 0,
    "tcp6": 0,
    "udp": 0,
    "unix": 0,
    "grpc": 0,
    "socks5": 1080,
    "socks5h": 1080,
    "socks4": 1080,
    "dns": 53,
    "file": 0,
}

_URL_RE = re.compile(
    r"(?<![\w+.-])(?P<scheme>[A-Za-z][A-Za-z0-9+.-]{1,15})://"
    r"(?:(?P<userinfo>[^\s/?#@\[\]<>\"'`]*)@)?"
    r"(?P<host>\[[0-9A-Za-z:.%_-]+\]|[^\s/?#:\[\]<>\"'`,;)]*)"
    r"(?::(?P<port>\d{1,6}))?"
    r"(?P<rest>[/?#][^\s<>\"'`]*)?"
)
_BRACKET_RE = re.compile(
    r"\[(?P<ip>[0-9A-Fa-f:.]{2,45})(?:%(?P<zone>[\w.-]{1,32}))?\](?::(?P<port>\d{1,6}))?"
)
# (The look-behind comes after the first digit, so that the regex engine skips to the next digit
# instead of trying a match at every position.)
_IPV4_RE = re.compile(
    r"(?P<ip>\d(?<![A-Za-z0-9_.:/-]\d)\d{0,2}\.\d{1,3}\.\d{1,3}\.\d{1,3})"
    r"(?:/(?P<plen>\d{1,2})(?![\d.]))?(?::(?P<port>\d{1,6})(?!\d|[.:]\d))?(?![A-Za-z0-9_]|\.\d)"
)
_IPV6_RE = re.compile(
    r"(?<![A-Za-z0-9_:.%\[/-])(?P<tok>[0-9A-Fa-f]{0,4}(?::[0-9A-Fa-f]{0,4}){2,8}(?::\d{5})?(?:\.\d{1,3}){0,3})"
    r"(?:%(?P<zone>[A-Za-z][\w.-]{0,31}))?(?:/(?P<plen>\d{1,3}))?(?![\w:])"
)
# Every match of `_IPV6_RE` holds two colons with at most four hex digits between them.
_IPV6_HINT_RE = re.compile(r":[0-9A-Fa-f]{0,4}:")
_COLON_DIGIT_RE = re.compile(r":\d")
_HOST_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789.-"
_SCHEME_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+.-")
_NAME_PORT_RE = re.compile(
    r"(?<![\w.@/:-])(?P<host>(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,62})\.)*[A-Za-z][A-Za-z0-9-]{0,62})"
    r":(?P<port>\d{1,6})(?![\w]|[.:/]\d)"
)
_LOCALHOST_RE = re.compile(
    r"(?<![\w.@/-])(?P<host>localhost)(?:,?\s+(?:port\s+)?(?P<port>\d{2,5}))?(?![\w-]|\.\w)", re.I
)
# Bare ports in context. Each pattern begins with a character it needs (the keyword's first letter, a
# dash, a colon), so the regex engine jumps from one such character to the next instead of trying a
# match at every position; a lookbehind just after that character checks what stands before it.
# "port 5432", "PORT=3000", "port: 465", "port number 8080", "listening on 3000" (and docker's
# "-p 8080:80" below: a second number after a colon)
_PORT_TAIL = r"(?:\s*[:=]\s*|\s+)[\"']?(?P<port>\d{1,6})(?:(?P<sep>:)(?P<port2>\d{1,6}))?(?![\w.])"
_PORT_WORD_RE = re.compile(r"[PpLl](?<![\w-][PpLl])(?i:ort(?:s|\s+number)?|isten(?:ing)?\s+on)" + _PORT_TAIL)
# "--port 8000", "-p 8080:80", "--publish 8080:80", "-Port 5432" (PowerShell)
_PORT_DASH_RE = re.compile(r"-(?<![\w-]-)(?i:-port|p|-publish|port)" + _PORT_TAIL)
# "running on :3000"
_ON_COLON_PORT_RE = re.compile(r":(?<=\s[Oo][Nn]\s:)(?P<port>\d{2,6})(?![\w.])")
# "8000端口"
_CJK_PORT_RE = re.compile(r"(?<![A-Za-z0-9_.])(?P<port>\d{2,5})\s*端口", re.I)
# Go: "listen tcp :8080", "dial tcp6 :443"
_GO_PORT_RE = re.compile(r"(?:listen|dial) tcp[46]? :(?P<port>\d{1,6})(?![\w.])", re.I)
# "https 443", "ssh 22"
_SCHEME_PORT_RE = re.compile(
    r"(?<![\w-])(?:https?|ssh|s?ftp|smtps?|imaps?|dns|rdp|vnc|telnet)\s+(?P<port>\d{2,5})(?![\w.:])", re.I
)
_SCHEME_PORT_WORDS = frozenset(
    ("http", "https", "ssh", "ftp", "sftp", "smtp", "smtps", "imap", "imaps", "dns", "rdp", "vnc", "telnet")
)
# Phrases that tie a host name or address to a port: psql, curl, ssh, Node error objects, Python calls.
_PAIR_RES: tuple[tuple[str, re.Pattern[str]], ...] = (
    (
        "server at",
        re.compile(
            r"server at \"(?P<host>[^\"\s]{1,253})\"(?: \((?P<ip>[0-9A-Fa-f:.]{2,45})\))?"
            r", port (?P<port>\d{1,6})"
        ),
    ),
    (
        "running on host",
        re.compile(
            r"running on host \"(?P<host>[^\"\s]{1,253})\"(?: \((?P<ip>[0-9A-Fa-f:.]{2,45})\))?"
            r"[^?]{0,60}?port (?P<port>\d{1,6})"
        ),
    ),
    (
        "connect",
        re.compile(
            r"(?:[Cc]onnect to|[Cc]onnected to)(?: host)? (?P<host>[\w.:-]{1,253})"
            r"(?: \((?P<ip>[0-9A-Fa-f:.]{2,45})\))? port (?P<port>\d{1,6})"
        ),
    ),
    (
        "port",
        re.compile(
            r"(?:host|hostname|address)\s*[=:]\s*[\"'](?P<host>[^\"'\s]{1,253})[\"']\s*,\s*"
            r"port\s*[=:]\s*[\"']?(?P<port>\d{1,6})"
        ),
    ),
    (
        "port",
        re.compile(
            r"(?:address|hostname)\s*:\s*'(?P<host>[^'\s]{1,253})',?\s*\n?\s*port\s*:\s*(?P<port>\d{1,6})"
        ),
    ),
    (
        "(port ",
        re.compile(r"(?P<host>[A-Za-z][\w.-]{0,252})/(?P<ip>[0-9A-Fa-f:.]{2,45}) \(port (?P<port>\d{1,6})\)"),
    ),
    (
        "connecting to",
        re.compile(
            r"Connecting to (?P<host>[A-Za-z][\w.-]{0,252}) \((?P<ip>[0-9A-Fa-f:.]{2,45}):(?P<port>\d{1,6})\)"
        ),
    ),
    (
        "-computername",
        re.compile(r"-ComputerName\s+(?P<host>[\w.:-]{1,253})\s+-Port\s+(?P<port>\d{1,6})", re.I),
    ),
    (
        "ssh",
        re.compile(
            r"ssh\s+(?:-\w+\s+)*-[LR]\s*(?:[\w.*]+:)?\d{1,5}:(?P<host>[\w.-]{1,253}):(?P<port>\d{1,6})"
        ),
    ),
)
# Phrases that name a host that could not be resolved or reached, with no port.
_HOST_RES: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("translate host name", re.compile(r"could not translate host name \"(?P<host>[^\"\s]{1,253})\"")),
    ("getaddrinfo", re.compile(r"getaddrinfo (?:ENOTFOUND|EAI_AGAIN) (?P<host>[A-Za-z0-9][\w.-]{0,252})")),
    ("resolve host", re.compile(r"Could not resolve host: (?P<host>[A-Za-z0-9][\w.-]{0,252})")),
    ("lookup ", re.compile(r"lookup (?P<host>[A-Za-z0-9][\w.-]{0,252}) on ")),
)
# Node prints IPv6 without brackets after the error code: "connect ECONNREFUSED ::1:5432", ":::3000".
_HOSTPORT_CONTEXT_RE = re.compile(
    r"(?:\bE[A-Z]{4,15}\b:?|address already in use|permission denied|Trying|(?:listen|dial) tcp[46]?)\s*$"
)
# "ECONNREFUSED", "EAI_AGAIN", Winsock's "WSAECONNREFUSED": a whole word; each branch starts with its
# letter, so the engine skips to the next "E" or "W".
_ERROR_SYMBOL_RE = re.compile(r"(?:W(?<!\wW)SAE|E(?<!\wE))(?:[A-Z]{4,14}|AI_[A-Z]{4,8})(?!\w)")
_ERROR_CODE_RE = re.compile(
    r"(?:\[?(?:Errno|WinError|errno|error|Error|os error|code)\s*[:=]?\s*'?(?P<code>-?\d{2,5})\b"
    r"|0x[0-9A-Fa-f]{8}/(?P<hexcode>\d{5})"
    r"|\((?P<paren>10\d{3})\)"
    r"|curl:\s?\((?P<curl>\d{1,2})\))"
)
_VERSION_BEFORE_RE = re.compile(r"(?:\bv|version\s*|ver\.?\s*|build\s*)$", re.I)
_IMAGE_NAMES = frozenset(
    {
        "postgres",
        "node",
        "python",
        "redis",
        "mysql",
        "mongo",
        "nginx",
        "ubuntu",
        "debian",
        "alpine",
        "golang",
        "ruby",
        "php",
        "openjdk",
        "httpd",
        "mariadb",
        "rabbitmq",
        "elasticsearch",
        "grafana",
        "traefik",
        "busybox",
        "centos",
        "fedora",
        "rust",
        "java",
    }
)
_WELL_KNOWN_SMALL = frozenset(
    {20, 21, 22, 23, 25, 53, 67, 68, 69, 80, 88, 110, 123, 143, 443, 465, 587, 993, 995}
)


class Candidate(NamedTuple):
    """Something extraction found, before classification."""

    kind: str  # endpoint, address, network, url, port, error, term
    span: tuple[int, int]
    text: str
    ip: str | None = None
    host: str | None = None
    port: int | None = None
    prefixlen: int | None = None
    scheme: str | None = None
    symbol: str | None = None  # error entry id for errors, entry id for terms
    invalid: str | None = None


# -- the prefilter ------------------------------------------------------------------------------------
# `may_contain_findings` must never rule out a text in which `extract` finds something (a property test
# checks this), so each rule below names the patterns it stands for.

# A line as bytes, lower-cased, with every byte that cannot be part of a word (as `WORD_RE` sees words)
# turned into a space: `split()` then gives the words, and a dotted word is kept whole.
_WORD_BYTES = b"abcdefghijklmnopqrstuvwxyz0123456789_."
ASCII_WORD_TABLE = bytes(c + 32 if 65 <= c <= 90 else c if c in _WORD_BYTES else 32 for c in range(256))
_ASCII_DIGIT_RE = re.compile("[0-9]")
_WORD_BYTES_RE = re.compile(rb"[a-z0-9_]+(?:\.[a-z0-9_]+)*")
# With a digit on the line, a word that may start a bare port (`_PORT_CONTEXT_RE`): "-p 8080",
# "--publish 8080", "listening on 3000", "ssh 22", "https 443" ("port", "PORT=" and "--port" are
# caught by the substring "port").
_PORT_WORDS = frozenset(
    b"p publish listen listening http https ssh ftp sftp smtp smtps imap imaps dns rdp vnc telnet".split()
)
# Phrases whose patterns have no word boundary, so a substring test stands for them: the bare
# `localhost` (`_LOCALHOST_RE`) and the host-naming phrases of `_HOST_RES`.
PREFILTER_ANCHORS = (b"localhost", b"lookup ", b"getaddrinfo", b"translate host name")
# Characters that case-insensitive patterns (and `str.lower`) match to ASCII letters: Turkish dotted
# and dotless i, the long s and the Kelvin sign.
_CASE_TWINS = str.maketrans({"\u0130": "i", "\u0131": "i", "\u017f": "s", "\u212a": "k"})


def may_contain_findings(text: str, kb: Knowledge) -> bool:
    """A cheap test that rules out most ordinary chatter: False only when `extract` would find nothing.

    Colons, slashes and brackets (URLs, endpoints, IPv6, `curl: (7)`) always pass; digits pass with a
    dot (IPv4), "port", an error-code word or a port word; otherwise a line passes only with one of the
    knowledge base's words (terms, error messages, error symbols) or a host-naming phrase.
    """
    if ":" in text or "/" in text or "[" in text:
        return True
    if text.isascii():
        lowered = text.lower()
        data = lowered.encode("ascii")
    else:
        if "端口" in text:  # "8000端口"
            return True
        # Words as `extract` reads them (from `str.lower`), and as case-insensitive patterns match.
        lowered = f"{text.lower()}\n{text.translate(_CASE_TWINS).lower()}"
        data = lowered.encode("ascii", "replace")
    # (`in` on str, not bytes: bytes' `in` first tries the argument as an integer, which costs more)
    if (
        "." in lowered  # an IPv4 address (`_IPV4_RE`)
        or "port" in lowered  # `_PORT_CONTEXT_RE` and the port phrases of `_PAIR_RES`
        or "error" in lowered  # `_ERROR_CODE_RE`: "[Errno 111]", "WinError 10061", "os error 111"
        or "errno" in lowered
        or "code" in lowered
        or "(10" in lowered  # `_ERROR_CODE_RE`: "(10061)"
    ) and _has_digit(text):
        return True
    if "localhost" in lowered or "lookup " in lowered or "getaddrinfo" in lowered:
        return True
    if "translate host name" in lowered:
        return True
    words = data.translate(ASCII_WORD_TABLE).split()
    if not _PORT_WORDS.isdisjoint(words) and _has_digit(text):
        return True
    if "." in lowered:
        # `WORD_RE` reads "node.js" as one word and extraction also looks at its parts.
        for word in [w for w in words if b"." in w]:
            words += _WORD_BYTES_RE.findall(word)
            words += word.split(b".")
    return not kb.prefilter_words.isdisjoint(words)


def _has_digit(text: str) -> bool:
    if text.isascii():
        return _ASCII_DIGIT_RE.search(text) is not None
    return any(c.isdigit() for c in text)  # `\d` matches every script's digits


class _Spans:
    """The parts of the text already claimed by a finding, so later patterns don't double-count."""

    # One flag per character rather than a list of spans: checking a span costs its length, not the
    # number of findings so far, so a 20 KB paste with thousands of findings stays linear.
    def __init__(self, size: int) -> None:
        self._taken = bytearray(size)

    def free(self, start: int, end: int) -> bool:
        return self._taken.find(1, start, end) < 0

    def take(self, start: int, end: int) -> None:
        self._taken[start:end] = b"\x01" * (end - start)


class _Part:
    """One message, or one line of a scanned log, inside the text the patterns run over.

    What the patterns' guards ask of the part (its lower-cased text, whether it has a digit, its
    words) is worked out once, and only for the parts a pattern matched in.
    """

    __slots__ = ("_has_digit", "_lowered", "_tokens", "_words", "found", "start", "text")

    def __init__(self, start: int, text: str) -> None:
        self.start = start
        self.text = text
        self.found: list[Candidate] = []
        self._lowered: str | None = None
        self._has_digit: bool | None = None
        self._tokens: list[str] | None = None
        self._words: frozenset[str] = frozenset()

    @property
    def lowered(self) -> str:
        if self._lowered is None:
            self._lowered = self.text.lower()
        return self._lowered

    @property
    def has_digit(self) -> bool:
        if self._has_digit is None:
            self._has_digit = _has_digit(self.text)
        return self._has_digit

    @property
    def tokens(self) -> list[str]:
        """`WORD_RE` words of the lower-cased text; none when lower-casing changed its length (rare
        scripts), since their positions would drift."""
        if self._tokens is None:
            lowered = self.lowered
            self._tokens = line_words(lowered) if len(lowered) == len(self.text) else []
            if "." in lowered:  # "java.net.UnknownHostException" also holds "unknownhostexception"
                self._words = frozenset(
                    [*self._tokens, *(p for t in self._tokens if "." in t for p in t.split("."))]
                )
            else:
                self._words = frozenset(self._tokens)
        return self._tokens

    @property
    def words(self) -> frozenset[str]:
        """The tokens, and the parts of dotted ones, as a set."""
        if self._tokens is None:
            self.tokens  # noqa: B018 (fills `_words`)
        return self._words


def _port(value: str | None) -> int | None:
    return int(value) if value else None


@functools.lru_cache(maxsize=4096)
def _is_ipv6(text: str) -> bool:
    """Whether `ipaddress` reads `text` as an IPv6 address (remembered: logs repeat their addresses)."""
    try:
        ipaddress.IPv6Address(text)
    except ValueError:
        return False
    return True


# The last character (before white space) of anything `_HOSTPORT_CONTEXT_RE` matches.
_HOSTPORT_CONTEXT_ENDS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZ:edgp46")


def _ipv6_host_port(token: str, before: str) -> tuple[str, int | None] | None:
    """Split Node's and curl's unbracketed `addr:port` when the context says a port follows."""
    head, _, tail = token.rpartition(":")
    if not tail.isdigit():
        return None
    context = before[-40:]
    last = context.rstrip()[-1:]
    if not last or last not in _HOSTPORT_CONTEXT_ENDS or not _HOSTPORT_CONTEXT_RE.search(context):
        return None
    if head.endswith(":") and not head.endswith("::"):
        return None
    if not _is_ipv6(head):
        return None
    return head, int(tail)


# Between two lines of a scanned log: no pattern matches across it (each that can cross a line end,
# with `\s` or `[^?]`, then needs a character other than "?"), and the look-behinds at the start of a
# line see a "?", which none of them counts, just as they see nothing at the start of a text.
LINE_JOINT = "\n?"


def extract(text: str, kb: Knowledge) -> list[Candidate]:
    """Every candidate in `text`, in order of position."""
    text = text[:MAX_TEXT]
    part = _Part(0, text)
    _extract_parts(text, [part], kb)
    return part.found


def extract_lines(lines: Sequence[str], kb: Knowledge) -> list[list[Candidate]]:
    """`[extract(line, kb) for line in lines]` for lines without a line break, with each pattern run
    once over all the lines rather than once per line (the spans are each line's own)."""
    parts: list[_Part] = []
    at = 0
    for line in lines:
        line = line[:MAX_TEXT]
        parts.append(_Part(at, line))
        at += len(line) + len(LINE_JOINT)
    _extract_parts(LINE_JOINT.join(p.text for p in parts), parts, kb)
    out = []
    for part in parts:
        if part.start and part.found:
            shift = part.start
            out.append([c._replace(span=(c.span[0] - shift, c.span[1] - shift)) for c in part.found])
        else:
            out.append(part.found)
    return out


class _Search:
    """The text the patterns run over (one message, or the lines of a log joined by `LINE_JOINT`),
    its parts, and the spans already claimed."""

    def __init__(self, text: str, parts: list[_Part]) -> None:
        self.text = text
        self.lowered = text.lower()
        self.parts = parts
        self.spans = _Spans(len(text))
        self._starts = [p.start for p in parts]
        self._aligned = len(self.lowered) == len(text)  # positions in `lowered` are positions in `text`

    def part_at(self, pos: int) -> _Part:
        """The part holding position `pos` of the text."""
        parts = self.parts
        return parts[0] if len(parts) == 1 else parts[bisect_right(self._starts, pos) - 1]

    def add(self, part: _Part, c: Candidate) -> None:
        self.spans.take(*c.span)
        part.found.append(c)

    def holding(self, needle: str, *, lowered: bool = False) -> list[_Part]:
        """The parts that may hold `needle` (in their lower-cased text with `lowered`), in order: a
        pattern that needs it runs over those parts only."""
        if len(self.parts) == 1:
            return self.parts
        if lowered and not self._aligned:
            return self.parts  # (the guards that follow test each part's own lower-cased text)
        haystack = self.lowered if lowered else self.text
        found = []
        at = haystack.find(needle)
        while at >= 0:
            part = self.part_at(at)
            found.append(part)
            at = haystack.find(needle, part.start + len(part.text))
        return found

    def holding_any(self, needles: Iterable[str], *, lowered: bool = False) -> list[_Part]:
        """The parts that may hold one of `needles`, in order."""
        if len(self.parts) == 1:
            return self.parts
        seen = {id(p): p for needle in needles for p in self.holding(needle, lowered=lowered)}
        return sorted(seen.values(), key=_start_of)

    def matches(self, pattern: re.Pattern[str], parts: list[_Part]) -> Iterator[tuple[_Part, re.Match[str]]]:
        """Each part's matches of `pattern`, searched for in that part alone."""
        text = self.text
        for part in parts:
            for m in pattern.finditer(text, part.start, part.start + len(part.text)):
                yield part, m


def _start_of(part: _Part) -> int:
    return part.start


def _extract_parts(text: str, parts: list[_Part], kb: Knowledge) -> None:
    """Fill each part's `found` from `text` (the parts joined by `LINE_JOINT`), pattern by pattern.

    A pattern runs once over the whole text, or, when it needs a word that few parts hold, over each
    of those parts alone. A match counts for the part it lies in, when that part passes the pattern's
    guard. Parts never share a match, and the spans each part claims are its own, so every part gets
    what a search of its text alone would give.
    """
    search = _Search(text, parts)
    spans, add, part_at, lowered = search.spans, search.add, search.part_at, search.lowered
    for m in _urls(text) if "://" in text else ():
        scheme = m["scheme"].lower()
        if scheme not in DEFAULT_PORTS or scheme == "file":
            continue
        host = m["host"]
        if not host and scheme != "unix":
            continue
        # Keep the span exact, but never carry credentials forward.
        shown = m.group(0)
        if m["userinfo"] is not None:
            shown = shown.replace(m["userinfo"] + "@", "***@", 1)
        ip = host[1:-1].split("%")[0] if host.startswith("[") else host
        port = _port(m["port"]) if m["port"] else (DEFAULT_PORTS[scheme] or None)
        is_ip = _looks_like_ip(ip)
        if scheme in ("http", "https") and not m["port"] and not is_ip and not _is_local_name(host):
            continue  # a link to a public web site: nothing networking to explain
        url = Candidate(
            "url",
            m.span(),
            shown.rstrip(".,;:!)"),
            ip=ip if is_ip else None,
            host=None if is_ip else host.lower().rstrip("."),
            port=port,
            scheme=scheme,
        )
        add(part_at(m.start()), url)

    has_digit = _has_digit(text)
    for needle, pattern in _PAIR_RES if has_digit else ():  # each pattern ends in a port number
        if needle not in lowered:
            continue
        for part, m in search.matches(pattern, search.holding(needle, lowered=True)):
            if not part.has_digit or needle not in part.lowered:
                continue
            host = m["host"]
            ip = m.groupdict().get("ip")
            if _looks_like_ip(host):
                host, ip = "", host
            port = int(m["port"])
            if not spans.free(*m.span("port")):
                continue
            kind_text = text[m.start() : m.end()]
            endpoint = Candidate(
                "endpoint", m.span(), kind_text, ip=ip or None, host=host.lower() or None, port=port
            )
            add(part, endpoint)

    for needle, pattern in _HOST_RES:
        if needle not in lowered:
            continue
        for part, m in search.matches(pattern, search.holding(needle, lowered=True)):
            if needle not in part.lowered:
                continue
            if spans.free(*m.span("host")) and not _looks_like_ip(m["host"]):
                add(part, Candidate("address", m.span("host"), m["host"], host=m["host"].lower()))

    for m in _BRACKET_RE.finditer(text) if "[" in text else ():
        if not spans.free(*m.span()):
            continue
        if not _looks_like_ip(m["ip"]) or ":" not in m["ip"]:
            continue
        port = _port(m["port"])
        kind = "endpoint" if port is not None else "address"
        add(part_at(m.start()), Candidate(kind, m.span(), m.group(0), ip=m["ip"], port=port))

    # A match of `_IPV6_RE` holds what `_IPV6_HINT_RE` looks for: only the parts with one are searched.
    hinted = list({id(p): p for p in (part_at(h.start()) for h in _IPV6_HINT_RE.finditer(text))}.values())
    for part, m in search.matches(_IPV6_RE, hinted):
        tok = m["tok"]
        if tok.count(":") < 2 or not spans.free(*m.span()):
            continue
        if tok != "::" and not _has_digit(tok):
            continue
        start, end = m.span()
        before = text[max(part.start, start - 60) : start]
        split = _ipv6_host_port(tok, before)
        if split is not None and not m["zone"] and not m["plen"]:
            ip, port = split
            add(part, Candidate("endpoint", (start, end), text[start:end], ip=ip, port=port))
            continue
        if not _is_ipv6(tok) or _looks_like_mac_or_time(tok):
            continue
        if m["plen"]:
            add(part, Candidate("network", (start, end), text[start:end], ip=tok, prefixlen=int(m["plen"])))
        else:
            add(part, Candidate("address", (start, end), text[start:end], ip=tok))

    for m in _IPV4_RE.finditer(text) if "." in text else ():
        if not spans.free(*m.span()):
            continue
        start, end = m.span()
        part = part_at(start)
        before = text[max(part.start, start - 10) : start]
        # (each of `_VERSION_BEFORE_RE`'s words holds a "v" or a "d")
        if ("v" in before or "V" in before or "d" in before or "D" in before) and _VERSION_BEFORE_RE.search(
            before
        ):
            continue
        ip = m["ip"]
        invalid = _ipv4_problem(ip)
        port = _port(m["port"])
        if m["plen"] is not None:
            network = Candidate(
                "network", (start, end), m.group(0), ip=ip, prefixlen=int(m["plen"]), invalid=invalid
            )
            add(part, network)
        else:
            kind = "endpoint" if port is not None else "address"
            add(part, Candidate(kind, (start, end), m.group(0), ip=ip, port=port, invalid=invalid))

    for m in _name_ports(text) if ":" in text else ():
        if not spans.free(*m.span()):
            continue
        part = part_at(m.start())
        host, port = m["host"].lower(), int(m["port"])
        if not _is_endpoint_name(host, port, text, m.start(), part.start):
            continue
        add(part, Candidate("endpoint", m.span(), m.group(0), host=host, port=port))

    for part, m in (
        search.matches(_LOCALHOST_RE, search.holding("localhost", lowered=True))
        if "localhost" in lowered
        else ()
    ):
        if "localhost" not in part.lowered or not spans.free(*m.span("host")):
            continue
        port = _port(m["port"])
        kind = "address" if port is None else "endpoint"
        add(part, Candidate(kind, m.span(), m.group(0), host="localhost", port=port))

    if has_digit:
        _extract_ports(search)
    _extract_errors(search, has_digit, kb)
    for part in parts:
        if not kb.alias_index.keys().isdisjoint(part.words):
            _extract_terms(part, kb, spans, add)
        if len(part.found) > 1:
            part.found.sort(key=_span_of)


def _span_of(c: Candidate) -> tuple[int, int]:
    return c.span


def line_words(lowered: str) -> list[str]:
    """`WORD_RE.findall(lowered)`, computed with one translation for the (usual) words without dots."""
    runs = lowered.encode("ascii", "replace").translate(ASCII_WORD_TABLE).decode("ascii").split()
    if "." not in lowered:
        return runs
    return [w for run in runs for w in (WORD_RE.findall(run) if "." in run else (run,))]


def _extract_ports(search: _Search) -> None:
    """Bare ports named by the words around them (in a text with a digit), pattern by pattern; each
    runs only where its keyword is, and a match counts only in a part that holds the keyword."""
    text, lowered = search.text, search.lowered
    ascii_text = text.isascii()
    runs: list[tuple[re.Pattern[str], Iterable[tuple[_Part, re.Match[str]]], Callable[[_Part], bool]]] = []
    if "-" in text:
        runs.append((_PORT_DASH_RE, _whole(search, _PORT_DASH_RE), lambda p: "-" in p.text))
    if not ascii_text or "port" in lowered or "listen" in lowered:
        runs.append((_PORT_WORD_RE, _whole(search, _PORT_WORD_RE), _port_word_guard))
    if ":" in text:
        runs.append((_ON_COLON_PORT_RE, _whole(search, _ON_COLON_PORT_RE), lambda p: ":" in p.text))
    if "端口" in text:
        runs.append(
            (_CJK_PORT_RE, search.matches(_CJK_PORT_RE, search.holding("端口")), lambda p: "端口" in p.text)
        )
    if "tcp" in lowered:
        parts = search.holding("tcp", lowered=True)
        runs.append((_GO_PORT_RE, search.matches(_GO_PORT_RE, parts), lambda p: "tcp" in p.lowered))
    if not ascii_text or any(w in lowered for w in _SCHEME_PORT_WORDS):
        parts = search.parts if not ascii_text else search.holding_any(_SCHEME_PORT_WORDS, lowered=True)
        parts = [p for p in parts if _scheme_port_guard(p)]
        runs.append((_SCHEME_PORT_RE, search.matches(_SCHEME_PORT_RE, parts), _scheme_port_guard))
    spans = search.spans
    for pattern, found, guard in runs:
        groups = ("port", "port2") if pattern.groups > 1 else ("port",)
        for part, m in found:
            if not part.has_digit or not guard(part):
                continue
            for group in groups:
                if m[group] is None or not spans.free(*m.span(group)):
                    continue
                search.add(part, Candidate("port", m.span(group), m[group], port=int(m[group])))


def _whole(search: _Search, pattern: re.Pattern[str]) -> Iterator[tuple[_Part, re.Match[str]]]:
    """The matches of `pattern` over the whole text, each with its part."""
    part_at = search.part_at
    for m in pattern.finditer(search.text):
        yield part_at(m.start()), m


def _port_word_guard(part: _Part) -> bool:
    return not part.text.isascii() or "port" in part.lowered or "listen" in part.lowered


def _scheme_port_guard(part: _Part) -> bool:
    return not part.text.isascii() or not _SCHEME_PORT_WORDS.isdisjoint(part.words)


# Words one of which every match of `_ERROR_CODE_RE` holds (lower-cased).
_CODE_HINTS = ("err", "code", "0x", "(10", "curl")


def _code_hint(part: _Part) -> bool:
    """Whether `_ERROR_CODE_RE` may match in the part."""
    lowered = part.lowered
    return part.has_digit and (
        "err" in lowered or "code" in lowered or "0x" in lowered or "(10" in lowered or "curl" in lowered
    )


def _extract_errors(search: _Search, has_digit: bool, kb: Knowledge) -> None:
    text, lowered, spans, add = search.text, search.lowered, search.spans, search.add
    # A known symbol is a word of the lower-cased text (with "wsa" before it, for Winsock's names).
    for part, m in _whole(search, _ERROR_SYMBOL_RE) if "E" in text else ():
        words = part.words
        if words and kb.symbol_words.isdisjoint(words):
            continue
        whole = m.group(0)
        entry_id = kb.error_symbols.get(whole[3:] if whole[0] == "W" else whole)
        if entry_id:
            add(part, Candidate("error", m.span(), whole, symbol=entry_id))
    if has_digit and any(hint in lowered for hint in _CODE_HINTS):
        parts = [p for p in search.holding_any(_CODE_HINTS, lowered=True) if _code_hint(p)]
        for part, m in search.matches(_ERROR_CODE_RE, parts):
            if m["curl"]:
                entry_id = kb.curl_codes.get(int(m["curl"]))
                group = "curl"
            else:
                group = "code" if m["code"] else "hexcode" if m["hexcode"] else "paren"
                code = int(m[group])
                entry_id = kb.error_codes.get(code)
                if entry_id is None and code < 0:
                    entry_id = kb.error_codes.get(-code)
            if entry_id and spans.free(*m.span()):
                add(part, Candidate("error", m.span(), m.group(0), symbol=entry_id))
    for part in search.parts:
        # (no words: none, or case folding changed lengths, in rare scripts, so spans would drift)
        for key in kb.message_keys.keys() & part.words:
            for message in kb.message_keys[key]:
                start = part.lowered.find(message)
                if start < 0:
                    continue
                at = part.start + start
                found = text[at : at + len(message)]
                add(
                    part,
                    Candidate("error", (at, at + len(message)), found, symbol=kb.error_messages[message]),
                )


def _extract_terms(
    part: _Part, kb: Knowledge, spans: _Spans, add: Callable[[_Part, Candidate], None]
) -> None:
    # Called only when the part has tokens; their positions are only worked out once an alias matches.
    tokens = part.tokens
    starts: list[int] = []
    seen: set[str] = set()
    index = kb.alias_index
    for i in [i for i, word in enumerate(tokens) if word in index]:
        for n, aliases in index[tokens[i]]:
            entry_id = aliases.get(tuple(tokens[i : i + n]))
            if entry_id is None:
                continue
            if not starts:
                starts = _token_starts(part.lowered, tokens)
            start, end = starts[i], starts[i + n - 1] + len(tokens[i + n - 1])
            at = part.start
            if entry_id not in seen and spans.free(at + start, at + end):
                seen.add(entry_id)
                add(part, Candidate("term", (at + start, at + end), part.text[start:end], symbol=entry_id))
            break


def _token_starts(lowered: str, tokens: list[str]) -> list[int]:
    # Between two tokens stand only characters that cannot begin one, so each token is the first
    # occurrence of its text after the one before.
    starts = []
    pos = 0
    for token in tokens:
        pos = lowered.find(token, pos)
        starts.append(pos)
        pos += len(token)
    return starts


def _urls(text: str) -> Iterator[re.Match[str]]:
    """`_URL_RE.finditer(text)`, trying the pattern only where a scheme ends in "://".

    A match starts where the run of scheme characters before its "://" starts (the look-behind rules
    out every later start, and an earlier one would hold the ":"), so one attempt per "://" finds
    exactly the matches `finditer` does.
    """
    end = 0  # of the previous match
    at = text.find("://")
    while at >= 0:
        start = at
        while start > 0 and start > at - 17 and text[start - 1] in _SCHEME_CHARS:
            start -= 1
        if start >= end and 2 <= at - start <= 16:
            m = _URL_RE.match(text, start)
            if m:
                end = m.end()
                yield m
        at = text.find("://", at + 3)


def _name_ports(text: str) -> Iterator[re.Match[str]]:
    """`_NAME_PORT_RE.finditer(text)`, trying the pattern only where a host name ends in ":digit".

    A match starts where the run of host-name characters before its colon starts (the lookbehind
    rules out every later start), so one attempt per colon finds exactly the matches `finditer` does.
    """
    end = 0  # of the previous match
    for colon in _COLON_DIGIT_RE.finditer(text):
        at = colon.start()
        if at < end:
            continue
        window = text[max(0, at - 300) : at]
        start = at - (len(window) - len(window.rstrip(_HOST_CHARS)))
        if start == at - 300:  # a longer run: walk it
            while start > 0 and text[start - 1] in _HOST_CHARS:
                start -= 1
        if start < end:
            continue
        m = _NAME_PORT_RE.match(text, start)
        if m:
            end = m.end()
            yield m


def _looks_like_ip(value: str) -> bool:
    bare = value.split("%")[0]
    if ":" not in bare:  # never IPv6; the dotted quad is checked without building an address
        return ipv4_value(bare) is not None
    return _is_ipv6(bare)


def _looks_like_mac_or_time(tok: str) -> bool:
    parts = tok.split(":")
    if "" in parts:
        return False
    return all(len(p) == 2 for p in parts) or all(p.isdigit() and len(p) <= 2 for p in parts)


def _ipv4_problem(ip: str) -> str | None:
    if ipv4_value(ip) is not None:
        return None
    parts = ip.split(".")
    for part in parts:
        if int(part) > 255:
            return f"{part} is more than 255: each of the four numbers of an IPv4 address is 0 to 255"
    if any(len(p) > 1 and p.startswith("0") for p in parts):
        return "a number with a leading zero is read as octal by some programs, so the address is ambiguous"
    return None


def _is_local_name(host: str) -> bool:
    host = host.lower().rstrip(".")
    return host == "localhost" or host.endswith((".localhost", ".internal", ".local", ".lan", ".home.arpa"))


def _is_endpoint_name(host: str, port: int, text: str, start: int, line_start: int) -> bool:
    """Tell `localhost:3000` and `db:5432` from `postgres:16`, `node:20` and `John 3:16`."""
    if host == "localhost" or host.endswith(".localhost") or host.endswith(".internal"):
        return True
    if "." in host:
        tld = host.rsplit(".", 1)[1]
        return tld.isalpha() and len(tld) >= 2 and not host.replace(".", "").isdigit()
    if host in _IMAGE_NAMES and port < 1024:
        return False
    before = text[max(line_start, start - 12) : start].lower()
    if "image" in before or "from " in before:
        return False
    return port >= 1024 or port in _WELL_KNOWN_SMALL

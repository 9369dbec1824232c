"""Finds addresses, endpoints, URLs, networks, ports, socket errors and terms in text, with exact spans.

Extraction only says *what* and *where*; `bot.core.classify` says what each thing means. Every pattern
here is linear in the length of the text (no nested quantifiers over the same characters), and the
cheap `may_contain_findings` test lets a passive scan skip ordinary chatter at about the cost of
reading it.
"""

from __future__ import annotations

import bisect
import functools
import ipaddress
import re
from collections.abc import Callable, Iterator
from typing import NamedTuple

from bot.core.credentials import REDACTED, mask_credentials
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
    r"(?<![\w+.])(?P<scheme>[A-Za-z][A-Za-z0-9+.-]{1,15})://"
    r"(?:(?P<userinfo>[^\s/?#@\[\]<>\"'`]*)@)?"
    r"(?P<host>\[[0-9A-Za-z:.%_-]+\]|[^\s/?#:\[\]<>\"'`,;)]*)"
    r"(?::(?P<port>\d{1,6}))?"
    r"(?P<rest>[/?#][^\s<>\"'`]*)?"
)
# Jupyter's banner names the server two ways: "http://(a1b2c3d4e5f6 or 127.0.0.1):8888/?token=..."
_JUPYTER_HOST_RE = re.compile(
    r"\((?P<name>[\w.-]{1,253}) or (?P<host>[\w.-]{1,253}|\[[0-9A-Fa-f:.]{2,45}\])\)"
    r"(?::(?P<port>\d{1,5}))?(?P<rest>[/?#][^\s<>\"'`]*)?"
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
# An IPv4-mapped address with a port, as dual-stack servers log IPv4 clients: "::ffff:121.12.41.156:59300"
_MAPPED_PORT_RE = re.compile(
    r"(?<![\w:.])(?P<ip>::[Ff]{4}:\d{1,3}(?:\.\d{1,3}){3}):(?P<port>\d{1,5})(?![\w:]|\.\d)"
)
# ":::8086" glued to a word by its colon ("listen::::8086"): :: and a port, which nothing else can be
_GLUED_ANY_PORT_RE = re.compile(r"(?<=[A-Za-z]:):::(?P<port>\d{1,5})(?![\w:]|\.\d)")
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
# The same, for the lower-cased text of an ASCII message (where case folding changes nothing else): it
# starts with the word itself, which the regex engine finds with a fast substring search.
_LOCALHOST_LOWER_RE = re.compile(
    r"(?P<host>localhost(?<![\w.@/-]localhost))(?:,?\s+(?:port\s+)?(?P<port>\d{2,5}))?(?![\w-]|\.\w)"
)
# Bare ports in context. Each pattern begins with a character it needs (the keyword's first letter, a
# dash, a colon), so the regex engine jumps from one such character to the next instead of trying a
# match at every position; a lookbehind just after that character checks what stands before it.
# "port 5432", "PORT=3000", "port: 465", "port number 8080", "listening on 3000" (and docker's
# "-p 8080:80" below: a second number after a colon)
# (a number followed by "-1234" or "–1234" starts a range of ports, not one port: "ports 1024-65535")
_PORT_TAIL = r"(?:\s*[:=]\s*|\s+)[\"']?(?P<port>\d{1,6})(?:(?P<sep>:)(?P<port2>\d{1,6}))?(?!\w|\.\w|[-–]\d)"
# ("port(s): 8080" is Spring Boot's "Tomcat started on port(s): 8080 (http)")
_PORT_WORD_RE = re.compile(
    r"[PpLl](?<![\w-][PpLl])(?i:ort(?:s|\(s\)|\s+number)?|isten(?:ing)?\s+on)" + _PORT_TAIL
)
# "--port 8000", "--rpc-bind-port 28081", "--server.port=8080", "-p 8080:80", "--publish 8080:80",
# "-Port 5432" and "-LocalPort 5432" (PowerShell),
# iptables' "--dport 22", "--sport 53" and "--to-ports 8080"
# (not `ps -p 1234` or `top -p 1234`, whose -p takes a process id)
_PORT_DASH_RE = re.compile(
    r"-(?<![\w-]-)(?i:-port|-[a-z][\w.-]{0,30}?[-_.]port|p(?<!\bps -p)(?<!\btop -p)|-publish|port"
    r"|-[ds]ports?|-to-ports?|(?:local|remote)port)" + _PORT_TAIL
)
# "LocalPort : 5432" (PowerShell's Get-NetTCPConnection), "SrcPort=5353 DstPort=41655" (packet dumps)
_PORT_NAMED_RE = re.compile(
    r"(?<![\w-])(?i:(?:local|remote|src|dst|source|dest(?:ination)?)_?port)" + _PORT_TAIL
)
_PORT_NAMED_WORDS = tuple(
    f"{side}{joint}port"
    for side in ("local", "remote", "src", "dst", "source", "dest")
    for joint in ("", "_")
)  # ("destination" holds "dest")
# "8080/tcp", "53/udp": nmap, ufw, firewalld, /etc/services, docker ps ("0.0.0.0:8080->80/tcp")
_PORT_PROTO_RE = re.compile(r"(?<![\w./-])(?P<port>\d{1,5})/(?i:tcp|udp|sctp)(?!\w)")
# Dockerfile "EXPOSE 3000" (upper case, as Dockerfiles write it: "expose 3 of them" is prose), Node's
# "app.listen(3000", Python's "http.server 8000", PostgreSQL's Unix socket "/tmp/.s.PGSQL.5432" (named
# after the server's port)
_PORT_CALL_RE = re.compile(
    r"(?:(?<![\w-])EXPOSE\s+|\.listen\(\s*|(?<![\w.])http\.server\s+|\.s\.PGSQL\.)(?P<port>\d{2,5})"
    r"(?![\w.]|[-–]\d)"
)
# What people paste when asking what holds a port: lsof's "-i :3000", "-iTCP:5432" and "-i tcp:8000",
# adb's "tcp:8081", Windows' "findstr :8080", and ss's listening line "*:3000  *:*"
_PORT_LISTING_RE = re.compile(
    r"(?:(?<![\w-])-i\s*:|(?<![\w-])(?:-i\s*)?(?i:tcp|udp|sctp):|(?<![\w-])(?i:findstr)\s+[\"']?:)"
    r"(?P<port>\d{1,5})(?![\w.:]|[-–]\d)"
    r"|(?<![\w*])\*:(?P<port2>\d{1,5})\s+(?:\*|\[::\]|0\.0\.0\.0):\*"
)
# "running on :3000", and a port written on its own as ":7777" (at the start of a line, after a space,
# a quote or a bracket; two digits only for a well-known port, so that ":30" past the hour is not one)
_ON_COLON_PORT_RE = re.compile(r":(?<=\s[Oo][Nn]\s:)(?P<port>\d{2,6})(?![\w.])")
_BARE_COLON_PORT_RE = re.compile(
    r"(?:^|(?<=[\s`'\"(\[]))(?<!::):(?P<port>\d{2,5})(?=$|[\s`'\",)\]*]|[.;!?](?!\w))", re.M
)
# "8000端口"
_CJK_PORT_RE = re.compile(r"(?<![A-Za-z0-9_.])(?P<port>\d{2,5})\s*端口", re.I)
# Go: "listen tcp :8080", "dial tcp6 :443"
_GO_PORT_RE = re.compile(r"(?:listen|dial) tcp[46]? :(?P<port>\d{1,6})(?![\w.])", re.I)
# "https 443", "ssh 22"
_SCHEME_PORT_RE = re.compile(
    r"(?<![\w-])(?:https?|ssh|s?ftp|smtps?|imaps?|dns|rdp|vnc|telnet)\s+(?P<port>\d{2,5})(?![\w.:])", re.I
)
# The same, for the lower-cased text of an ASCII message: each branch starts with its letter.
_SCHEME_PORT_LOWER_RE = re.compile(
    r"(?:h(?<![\w-]h)ttps?|s(?<![\w-]s)(?:sh|ftp|mtps?)|f(?<![\w-]f)tp|i(?<![\w-]i)maps?|d(?<![\w-]d)ns"
    r"|r(?<![\w-]r)dp|v(?<![\w-]v)nc|t(?<![\w-]t)elnet)\s+(?P<port>\d{2,5})(?![\w.:])"
)
_SCHEME_PORT_WORDS = frozenset(
    ("http", "https", "ssh", "ftp", "sftp", "smtp", "smtps", "imap", "imaps", "dns", "rdp", "vnc", "telnet")
)
_TOOL_HOST_PORT = r"(?:\s+-[\w-]{1,8})*\s+(?P<host>[A-Za-z0-9][\w.:-]{0,252})\s+(?P<port>\d{1,5})(?![\w.:-])"
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
        # Android: "failed to connect to example.com/93.184.216.34 (port 80)", "to /52.30.76.101 (port 9292)"
        "(port ",
        re.compile(
            r"(?:(?P<host>[A-Za-z][\w.-]{0,252})|(?<![\w.-]))/(?P<ip>[0-9A-Fa-f:.]{2,45}) ?"
            r"\(port (?P<port>\d{1,6})\)"
        ),
    ),
    (
        "--host",  # uvicorn, flask run, vite and others: "--host 0.0.0.0 --port 8000"
        re.compile(
            r"--host(?:\s+|=)(?!-)(?P<host>[\w.:%-]{1,253})\s+(?:--port|-p)(?:\s+|=)(?P<port>\d{1,6})"
            r"(?![\w.]|[-–]\d)"
        ),
    ),
    (
        "-p",  # docker's "-p 127.0.0.1:8080:80" and "--publish=0.0.0.0:5432:5432": the host side's address
        re.compile(
            r"(?<![\w-])(?:-p|--publish)(?:\s+|=)[\"']?(?P<host>\d{1,3}(?:\.\d{1,3}){3}):(?P<port>\d{1,5})"
            r":\d{1,5}(?:/(?:tcp|udp|sctp))?(?![\w.:-])"
        ),
    ),
    (
        "('",  # Python's socket addresses: ('0.0.0.0', 8000), ('::1', 8000, 0, 0)
        re.compile(r"\('(?P<host>[\w.:%-]{1,253})',\s*(?P<port>\d{1,6})(?:,\s*\d+){0,2}\)"),
    ),
    (
        '("',  # the same written in code: sock.connect(("127.0.0.1", 554))
        re.compile(r'\("(?P<host>[\w.:%-]{1,253})",\s*(?P<port>\d{1,6})(?:,\s*\d+){0,2}\)'),
    ),
    # "telnet 127.0.0.1 8990", "nc -vz db.internal 5432": a host and a port as the tool's arguments
    ("telnet ", re.compile(r"(?<![\w-])telnet" + _TOOL_HOST_PORT)),
    ("nc", re.compile(r"(?<![\w-])(?:nc|ncat|netcat)" + _TOOL_HOST_PORT)),
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
)
# What resolvers say when a name has no address (glibc's gai_strerror, macOS's, Go's): after "HOST: "
# they name the host that failed.
_RESOLVER_SAYS = (
    r"(?:Name or service not known|(?:node|host)name nor servname provided"
    r"|Temporary failure in name resolution|No address associated with hostname|no such host|Unknown host"
    r"|server misbehaving)"
)
_HOST_NAME = r"[A-Za-z0-9][\w.-]{0,252}"
# Phrases that name a host that could not be resolved or reached, with no port. Each pattern runs only
# on a text whose lower-cased form holds its needle (or one of its needles).
_HOST_RES: tuple[tuple[str | tuple[str, ...], re.Pattern[str]], ...] = (
    ("translate host name", re.compile(r"could not translate host name \"(?P<host>[^\"\s]{1,253})\"")),
    (
        "getaddrinfo",
        re.compile(r"(?<![\w.-])getaddrinfo (?:ENOTFOUND|EAI_AGAIN) (?P<host>" + _HOST_NAME + ")"),
    ),
    # curl's "Could not resolve host: x", ssh's "Could not resolve hostname x: ...", curl's proxy
    (
        "resolve ",
        re.compile(r"[Cc]ould not resolve (?:host(?:name)?:? |proxy: )(?P<host>" + _HOST_NAME + ")"),
    ),
    # Go: "lookup db on 127.0.0.11:53: no such host", "lookup db: no such host", "lookup db: i/o timeout"
    (
        "lookup ",
        re.compile(
            r"(?<![\w.-])lookup (?P<host>"
            + _HOST_NAME
            + r")(?: on |: (?:i/o timeout|"
            + _RESOLVER_SAYS
            + "))"
        ),
    ),
    # Java, and Android's "Unable to resolve host "x": No address associated with hostname"
    (
        "unknownhostexception",
        re.compile(r"UnknownHostException: (?:Unable to resolve host \")?(?P<host>" + _HOST_NAME + ")"),
    ),
    # urllib3 2's NameResolutionError: "Failed to resolve 'api.example.com' ([Errno -3] ...)"
    ("failed to resolve", re.compile(r"Failed to resolve '(?P<host>" + _HOST_NAME + ")'")),
    # wget: "unable to resolve host address 'x'" (with typographic quotes in a UTF-8 locale)
    ("resolve host address", re.compile(r"resolve host address [\"'‘“](?P<host>" + _HOST_NAME + ")")),
    ("unknown mysql server host", re.compile(r"Unknown MySQL server host '(?P<host>" + _HOST_NAME + ")'")),
    # "Can't connect to MySQL server on 'localhost' (10061)", "... on u'localhost' ([Errno 61] ...)"
    ("mysql server on", re.compile(r"(?<![\w.-])MySQL server on u?'(?P<host>" + _HOST_NAME + ")'")),
    # ping, ssh, Java and the rest: "foo.example: Name or service not known", macOS's ping "cannot
    # resolve foo: Unknown host" (a name with a dot, or after "ping: ", so "getaddrinfo: ..." is not one)
    (
        ("not known", "name resolution", "no such host", "unknown host", "with hostname", "misbehaving"),
        re.compile(
            r"(?<![\w.-])(?:ping: (?:cannot resolve )?(?P<bare>" + _HOST_NAME + r")"
            r"|(?P<host>[A-Za-z0-9][\w-]{0,62}(?:\.[\w-]{1,63})*\.[A-Za-z]{2,63}))"
            r": " + _RESOLVER_SAYS
        ),
    ),
)
_PORT_AFTER_HOST_RE = re.compile(r":(\d{1,5})(?![\w.:])")
# Where a client says which endpoint refused or did not answer: PostgreSQL's JDBC driver "Connection to
# localhost:5432 refused.", urllib3 "Connection to api.example.com timed out. (connect timeout=5)", and
# Chrome's refused page in Portuguese, "A conexão com localhost foi recusada." (Chromium's pt-BR strings)
_CONNECTION_TO_RE = re.compile(
    r"(?<![\w.-])(?:[Cc]onnection to|[Cc]onexão com) "
    r"(?P<host>\[[0-9A-Fa-f:.]{2,45}\]|[A-Za-z0-9][\w.-]{0,252})"
    r"(?::(?P<port>\d{1,5}))? (?:was |foi )?(?P<outcome>refused|recusada|timed out)(?!\w)"
)
_OUTCOME_SYMBOLS = {"refused": "ECONNREFUSED", "recusada": "ECONNREFUSED", "timed out": "ETIMEDOUT"}
# curl on Windows ends its connect line with a bare "Timed out": "Failed to connect to github.com port 443
# after 21045 ms: Timed out" (the endpoint itself is the "connect" phrase of `_PAIR_RES`)
_CURL_TIMED_OUT_RE = re.compile(r"port \d{1,5}(?: after \d{1,7} ms)?: (?P<outcome>Timed out)\b")
# ssh's forwards: "-L 8443:10.9.8.7:443" (a local port, then the host and port it reaches from the
# server), "-R 8080:localhost:3000" (the reverse), "-D 1080" (a local SOCKS port); each may start with
# a bind address.
_SSH_WORD_RE = re.compile(r"(?<![\w.-])(?i:ssh)(?![\w-])")
# ssh's own server: "ssh user@134.173.191.241 -p 5055" (the -p before or after the destination)
_SSH_SERVER_RE = re.compile(
    r"\bssh\s(?:[^\n@]{0,120}?\s)?-p\s*(?P<port>\d{1,5})\s+(?:[^\s@]{1,64}@)(?P<host>[\w.-]{1,253})(?![\w@])"
    r"|\bssh\s(?:[^\n@]{0,120}?\s)?(?:[^\s@]{1,64}@)(?P<host2>[\w.-]{1,253})\s(?:[^\n]{0,120}?\s)?-p\s*"
    r"(?P<port2>\d{1,5})(?![\w.])"
)
_SSH_FORWARD_RE = re.compile(
    r"(?<![\w-])-(?P<flag>[LRD])\s*(?:(?P<bind>[\w.*-]{1,253}|\[[0-9A-Fa-f:.]{2,45}\]):)?(?P<lport>\d{1,5})"
    r"(?::(?P<host>[\w.-]{1,253}|\[[0-9A-Fa-f:.]{2,45}\]):(?P<port>\d{1,5}))?(?![\w:.]|/\d)"
)
# A host and its port written as separate fields: "host: db" ... "port: 5432", "SrcIP=10.0.0.1 ...
# SrcPort=5353", "DB_HOST=db" and "DB_PORT=5432", Rust's "host: Some(Ipv4(10.20.30.40)), port:
# Some(8443)". A field's side is the word glued before its key ("Src", "DB_", ""): a host pairs with
# the next port field of the same side.
# (A space alone separates an option and its value: "--rpc-bind-ip 0.0.0.0 --rpc-bind-port 28081".)
_FIELD_HOST_RE = re.compile(
    r"(?i:ip|host(?:name)?|addr(?:ess)?)(?P<quote>[\"']?)(?:\s*[=:]\s*|(?P<sp>[ \t]+))"
    r"(?:Some\((?:Ipv[46]|Domain)\()?[\"'(]?"
    r"(?P<value>\d{1,3}(?:\.\d{1,3}){3}(?![\d.])|[0-9A-Fa-f]{0,4}:[0-9A-Fa-f:.]{1,45}"
    r"|[A-Za-z][\w-]{0,62}(?:\.[A-Za-z0-9][\w-]{0,62})*(?![\w.$]))"
)
_FIELD_PORT_RE = re.compile(
    r"(?i:port)[\"']?(?:\s*[=:]\s*|(?P<sp>[ \t]+))(?:Some\()?[\"']?(?P<port>\d{1,5})(?![\w.]|[-–]\d)"
)
# Database clients' command lines: "mysql -u root -p -h 127.0.0.1 -P 3306", "redis-cli -p 6379 -h 127.0.0.1"
_CLIENT_LINE_RE = re.compile(
    r"(?<![\w-])(?P<tool>mysql|mariadb|psql|pg_dump|pg_isready|redis-cli)\b[^\n]{0,200}", re.I
)
_CLIENT_HOST_RE = re.compile(r"(?<![\w-])-h\s*(?P<host>[A-Za-z0-9][\w.:-]{0,252})(?![\w.:-])")
_CLIENT_BIG_P_RE = re.compile(r"(?<![\w-])-P\s*(?P<port>\d{1,5})(?![\w.])")
_CLIENT_SMALL_P_RE = re.compile(r"(?<![\w-])-p\s*(?P<port>\d{1,5})(?![\w.])")
_FIELD_SIDE_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_.-"
_FIELD_NOT_HOSTS = frozenset({"some", "none", "null", "nil", "true", "false", "undefined", "ipv4", "ipv6"})
# tcpdump writes an address and its port joined by a dot, the source before " > " and the destination
# after it: "IP 10.0.0.5.52814 > 93.184.216.34.443: Flags [S]", "IP6 dead:beef:2::2.35288 > ...".
_TCPDUMP_RE = re.compile(
    r"(?<![\w.:])(?P<ip>\d{1,3}(?:\.\d{1,3}){3}|[0-9A-Fa-f]{0,4}:[0-9A-Fa-f:]{1,40})"
    r"\.(?P<port>\d{1,5})(?= > |:(?:\s|$)|,)"
)
# Five dotted numbers (`10.0.0.0.5:8080`): a mistyped IPv4 address when a port, a prefix or an address
# word goes with it, else a version or an OID, left alone.
_FIVE_PART_RE = re.compile(
    r"(?P<ip>\d(?<![\w.:/-]\d)\d{0,2}(?:\.\d{1,3}){4})(?:/(?P<plen>\d{1,2})(?![\d.])|:(?P<port>\d{1,5}))?"
    r"(?![\w]|[.:]\d)"
)
_ADDRESS_WORDS_BEFORE_RE = re.compile(
    r"(?:\b(?:ip|address|addr|host|server|ping|connect(?:ing)? to|bind|listen(?:ing)? on)\s*[=:]?\s*"
    r"|@)[\"'`]?$",
    re.I,
)
# Node prints IPv6 without brackets after the error code: "connect ECONNREFUSED ::1:5432", ":::3000".
_HOSTPORT_CONTEXT_RE = re.compile(
    r"(?:\bE[A-Z]{4,15}\b:?|address already in use|permission denied|Trying|(?:listen|dial) tcp[46]?)\s*$"
)
# "ECONNREFUSED", "EAI_AGAIN", Winsock's "WSAECONNREFUSED": a whole word. Each branch starts with its
# letter, so that the regex engine skips to the next "E" or "W".
_ERROR_SYMBOL_RE = re.compile(r"(?:W(?<!\wW)SAE|E(?<!\wE))(?:[A-Z]{4,14}|AI_[A-Z]{4,8})(?!\w)")
_ERROR_CODE_RE = re.compile(
    r"(?:(?:Errno|WinError|errno|error|Error|os error|code)\s*[:=(]?\s*'?(?P<code>-?\d{2,5})\b"
    r"|0x[0-9A-Fa-f]{8}/(?P<hexcode>\d{5})"
    # Winsock's codes in hex ("0x274D" is 10061), bare or as the HRESULT that wraps them (0x8007274D)
    r"|(?<![\w])0x(?P<hex>(?:8007|0000)?[0-9A-Fa-f]{4})(?![0-9A-Fa-f])"
    r"|\((?P<paren>1[01]\d{3})\)"
    # a system call's errno in brackets: nginx's "bind() to 0.0.0.0:80 failed (98: Address in use)",
    # "bind() failed. (98)" (a colon or a full stop with it, so the prefilter's rules for those cover it)
    r"|failed(?:\.\s*\((?P<failed>\d{2,5})\)|\s*\((?P<failed2>\d{2,5}):)"
    # MySQL's client puts the socket error after the host: "on '127.0.0.1' (61)"
    r"|MySQL server on u?'[^'\n]{1,253}' \((?P<mysql>\d{2,5})\)"
    r"|curl:\s?\((?P<curl>\d{1,2})\))"
)
# Node names its DNS queries in errors ("querySrv ECONNREFUSED"), where ECONNREFUSED is c-ares' code
# for "could not contact DNS servers" (Node's dns error codes), not a refused connection.
_NODE_DNS_CALL_RE = re.compile(r"\bquery[A-Z][A-Za-z]{0,8} $")
# "v1.2.3.4", "version 1.2.3.4", "AssemblyVersion(\"2.0.0.0\")", "Version=4.0.0.0", "build 1.0.0.0"
_VERSION_BEFORE_RE = re.compile(r"(?:\bv|version|\bver\.?|\bbuild|\brelease)[\s=:(\"'\[]{0,3}$", re.I)
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
# File name extensions of source code, for "file.ext:line" in stack traces and compiler output (a name
# with one dot only: "api.example.rs:8443" stays an endpoint)
_SOURCE_EXTENSIONS = frozenset(
    {
        "py", "pyx", "js", "mjs", "cjs", "ts", "tsx", "jsx", "go", "rs", "rb", "java", "kt", "kts", "cs", "c",
        "h", "cc", "cpp", "hpp", "cxx", "php", "pl", "pm", "sh", "swift", "scala", "ex", "exs", "erl", "dart",
        "lua", "vue", "svelte", "m", "mm", "fs", "clj", "groovy", "gradle", "yml", "yaml", "json", "toml",
        "xml", "html", "css", "scss", "ini", "cfg", "conf", "tf", "sql", "jl", "zig", "nim", "hs", "ml", "vb",
        "ps1", "bat",
    }
)  # fmt: skip
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
    ambiguity: str | None = None  # another reading of the text, when the context cannot decide


# -- the prefilter ------------------------------------------------------------------------------------
# `may_contain_findings` must never rule out a text in which `extract` finds something (a property test
# checks this), so each rule below names the patterns it stands for.

# A line as bytes, lower-cased, with every byte that cannot be part of a word (as `WORD_RE` sees words)
# turned into a space: `split()` then gives the words, and a dotted word is kept whole.
_WORD_BYTES = b"abcdefghijklmnopqrstuvwxyz0123456789_."
ASCII_WORD_TABLE = bytes(c + 32 if 65 <= c <= 90 else c if c in _WORD_BYTES else 32 for c in range(256))
_ASCII_DIGIT_RE = re.compile("[0-9]")
_WORD_BYTES_RE = re.compile(rb"[a-z0-9_]+(?:\.[a-z0-9_]+)*")
# With a digit on the line, a word that may start a bare port: "-p 8080", "--publish 8080",
# "listening on 3000", "ssh 22", "https 443", "EXPOSE 3000" ("port", "PORT=", "--port", "--dport" and
# "LocalPort" are caught by the substring "port", "8080/tcp" by its slash, "http.server 8000" and
# ".s.PGSQL.5432" by their dots).
_PORT_WORDS = frozenset(
    b"p publish listen listening expose http https ssh ftp sftp smtp smtps imap imaps".split()
    + b"dns rdp vnc telnet nc ncat netcat".split()
)
# Phrases whose patterns have no word boundary, so a substring test stands for them: the bare
# `localhost` (`_LOCALHOST_RE`) and the host-naming phrases of `_HOST_RES`.
PREFILTER_ANCHORS = (b"localhost", b"lookup ", b"getaddrinfo", b"translate host name", b"mysql server on")
# The same phrases by a word of theirs (each pattern starts at a word boundary), for `may_contain_findings`
_ANCHOR_WORDS = frozenset((b"localhost", b"lookup", b"getaddrinfo", b"translate", b"mysql"))
_GATE_WORDS = _ANCHOR_WORDS | _PORT_WORDS
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
        if kb.unkeyed_message_re is not None and kb.unkeyed_message_re.search(text.lower()):
            return True  # an error message with no ASCII word ("в соединении отказано")
        # Words as `extract` reads them (from `str.lower`), and as case-insensitive patterns match.
        lowered = f"{text.lower()}\n{text.translate(_CASE_TWINS).lower()}"
        data = lowered.encode("ascii", "replace")
    # (`in` on str, not bytes: bytes' `in` first tries the argument as an integer, which costs more)
    if (
        "." in lowered  # an IPv4 address (`_IPV4_RE`)
        or "port" in lowered  # `_PORT_CONTEXT_RE` and the port phrases of `_PAIR_RES`
        or "err" in lowered  # `_ERROR_CODE_RE`: "[Errno 111]", "WinError 10061", "os error 111"
        or "code" in lowered
        or "(1" in lowered  # `_ERROR_CODE_RE`: "(10061)", "(11001)"
        or "0x" in lowered  # `_ERROR_CODE_RE`: Winsock's codes in hex, "0x274D", "0x8007274D"
        or "('" in lowered  # Python's ('db', 5432) and ("db", 5432) in `_PAIR_RES`
        or '("' in lowered
    ) and _has_digit(text):
        return True
    words = data.translate(ASCII_WORD_TABLE).split()
    if "." in lowered:
        # `WORD_RE` reads "node.js" as one word and extraction also looks at its parts.
        for word in [w for w in words if b"." in w]:
            words += _WORD_BYTES_RE.findall(word)
            words += word.split(b".")
    # One look at the words for both the host-naming phrases and the port words (those only count with
    # a digit on the line).
    gate = _GATE_WORDS.intersection(words)
    if gate and (not _ANCHOR_WORDS.isdisjoint(gate) or _has_digit(text)):
        return True
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


def _ipv6_port_reading(token: str, whole: bool, text: str, start: int) -> tuple[str, int, str | None] | None:
    """An unbracketed IPv6 address with a port glued on (`addr:port`), told by the registry and the
    context: (address, port, None) when only that reading holds, (address, port, why) when the token
    reads both ways and the line speaks of ports, None when it is just an address.

    - `2001:db8:0:0:0:0:0:1:8080` (nine groups) or `fe80::1:70000` cannot be one address: the last
      group is the port.
    - `fe80::2631:aee8:74dd:378d:5661` is an address, but not a link-local one (fe80::/10 outside
      fe80::/64, RFC 4291 section 2.5.6), while `fe80::2631:aee8:74dd:378d` is: the last group is the port.
    - `2001:db8::1:8080` is a whole address, or `2001:db8::1` with port 8080: ambiguous, said so.
    """
    head, _, tail = token.rpartition(":")
    if (
        not tail.isdigit()
        or len(tail) > 5
        or int(tail) > 65535
        or (head.endswith(":") and not head.endswith("::"))
    ):
        return None
    if not _is_ipv6(head):
        return None
    port = int(tail)
    if not whole:
        return head, port, None
    if "::" not in token:
        return None  # eight groups written out: one address
    address = ipaddress.IPv6Address(token)
    if int(address) >> 32 == 0:
        return head, port, None  # "::0:8086", "::1:5432": the deprecated ::/96 block, so :: or ::1 and a port
    if (
        address.is_link_local
        and int(address) >> 64 != 0xFE80 << 48
        and int(ipaddress.IPv6Address(head)) >> 64 == 0xFE80 << 48
    ):
        return head, port, None
    if len(tail) < 2:
        return None
    line_start = text.rfind("\n", max(0, start - 200), start) + 1
    if "port" not in text[max(line_start, start - 200) : start].lower():
        return None
    return head, port, f"it also reads as [{head}]:{port}, the address {head} with port {port}"


def _ipv6_host_port(token: str, before: str, published: bool) -> tuple[str, int | None] | None:
    """Split Node's and curl's unbracketed `addr:port` when the context says a port follows, and
    docker's `:::8080->80/tcp` (`published`: an arrow follows)."""
    head, _, tail = token.rpartition(":")
    if not tail.isdigit():
        return None
    context = before[-40:]
    last = context.rstrip()[-1:]
    if not published and (
        not last or last not in _HOSTPORT_CONTEXT_ENDS or not _HOSTPORT_CONTEXT_RE.search(context)
    ):
        return None
    if head.endswith(":") and not head.endswith("::"):
        return None
    if not _is_ipv6(head):
        return None
    return head, int(tail)


def extract(text: str, kb: Knowledge) -> list[Candidate]:
    """Every candidate in `text`, in order of position (no candidate holds a URL's credentials)."""
    # (masked through the end of the run the cut falls in: a cut through a password leaves none of it)
    text = mask_credentials(text, MAX_TEXT)
    spans = _Spans(len(text))
    found: list[Candidate] = []

    def add(c: Candidate) -> None:
        spans.take(*c.span)
        found.append(c)

    for m in _urls(text) if "://" in text else ():
        scheme = m["scheme"].lower()
        if scheme not in DEFAULT_PORTS or scheme == "file":
            continue
        host = m["host"]
        if host.startswith("(") and (banner := _JUPYTER_HOST_RE.match(text, m.end("scheme") + 3)):
            _add_jupyter_url(text, m, banner, spans, add)
            continue
        if not host and scheme != "unix":
            continue
        # Trailing punctuation ends the sentence, not the URL; the span is cut with the text. Keep the
        # span exact, but never carry credentials forward (they are masked with "*" already).
        shown = m.group(0).rstrip(".,;:!)")
        if shown.endswith("//"):
            continue  # nothing left after the scheme
        if m["userinfo"] is not None:
            shown = shown.replace(m["userinfo"] + "@", REDACTED + "@", 1)
        ip = host[1:-1].split("%")[0] if host.startswith("[") else host
        port = _port(m["port"]) if m["port"] else (DEFAULT_PORTS[scheme] or None)
        is_ip = _looks_like_ip(ip)
        if scheme in ("http", "https") and not m["port"] and not is_ip and not _is_local_name(host):
            continue  # a link to a public web site: nothing networking to explain
        add(
            Candidate(
                "url",
                (m.start(), m.start() + len(m.group(0).rstrip(".,;:!)"))),
                shown,
                ip=ip if is_ip else None,
                host=None if is_ip else host.lower().rstrip("."),
                port=port,
                scheme=scheme,
            )
        )

    lowered = text.lower()
    has_digit = _has_digit(text)
    for needle, pattern in _PAIR_RES if has_digit else ():  # each pattern ends in a port number
        if needle not in lowered:
            continue
        for m in pattern.finditer(text):
            host = m["host"] or ""
            ip = m.groupdict().get("ip")
            if _looks_like_ip(host):
                host, ip = "", host
            port = int(m["port"])
            if not spans.free(*m.span("port")):
                continue
            if (
                needle in ("('", '("')
                and not ip
                and not _is_endpoint_name(host.lower(), port, text, m.start())
            ):
                continue  # any tuple of a word and a number: ('a', 1)
            kind_text = text[m.start() : m.end()]
            add(
                Candidate(
                    "endpoint", m.span(), kind_text, ip=ip or None, host=host.lower() or None, port=port
                )
            )

    if "ssh" in lowered and "-" in text and has_digit:
        _extract_ssh_forwards(text, spans, add)
    if (
        "-h" in text
        and has_digit
        and (
            "mysql" in lowered
            or "mariadb" in lowered
            or "psql" in lowered
            or "redis-cli" in lowered
            or "pg_" in lowered
        )
    ):
        _extract_client_options(text, spans, add)
    if has_digit and "port" in lowered and ("=" in text or ":" in text or "--" in text):
        _extract_field_pairs(text, spans, add)
    if " > " in text:
        for m in _TCPDUMP_RE.finditer(text):
            source, destination = text.startswith(" > ", m.end()), text.endswith("> ", 0, m.start())
            if (source or destination) and spans.free(*m.span()) and _looks_like_ip(m["ip"]):
                add(Candidate("endpoint", m.span(), m.group(0), ip=m["ip"], port=int(m["port"])))

    for needles, pattern in _HOST_RES:
        if needles not in lowered if isinstance(needles, str) else not any(n in lowered for n in needles):
            continue
        for m in pattern.finditer(text):
            group = "host" if m["host"] is not None else "bare"
            start, end = m.span(group)
            if not spans.free(start, end) or _looks_like_ip(m[group]):
                continue
            # Node writes the port after the name that failed: "getaddrinfo EAI_AGAIN registry.npmjs.org:443"
            after = _PORT_AFTER_HOST_RE.match(text, end)
            if after is not None and spans.free(*after.span()):
                add(
                    Candidate(
                        "endpoint",
                        (start, after.end()),
                        text[start : after.end()],
                        host=m[group].lower(),
                        port=int(after[1]),
                    )
                )
            else:
                add(Candidate("address", (start, end), m[group], host=m[group].lower()))

    if "onnection to " in text or "onexão com " in text:
        _extract_connection_outcomes(text, kb, spans, add)
    if ": Timed out" in text and (entry_id := kb.error_symbols.get("ETIMEDOUT")):
        for m in _CURL_TIMED_OUT_RE.finditer(text):
            if spans.free(*m.span("outcome")):
                add(Candidate("error", m.span("outcome"), m["outcome"], symbol=entry_id))

    for m in _BRACKET_RE.finditer(text) if "[" in text else ():
        if not spans.free(*m.span()):
            continue
        if not _looks_like_ip(m["ip"]) or ":" not in m["ip"]:
            continue
        port = _port(m["port"])
        add(
            Candidate(
                "endpoint" if port is not None else "address", m.span(), m.group(0), ip=m["ip"], port=port
            )
        )

    for m in _MAPPED_PORT_RE.finditer(text) if "::ffff:" in lowered else ():
        if spans.free(*m.span()):
            add(Candidate("endpoint", m.span(), m.group(0), ip=m["ip"], port=int(m["port"])))

    for m in _GLUED_ANY_PORT_RE.finditer(text) if ":::" in text else ():
        if spans.free(*m.span()):
            add(Candidate("endpoint", m.span(), m.group(0), ip="::", port=int(m["port"])))

    for m in _IPV6_RE.finditer(text) if _IPV6_HINT_RE.search(text) else ():
        tok = m["tok"]
        if tok.count(":") < 2 or not spans.free(*m.span()):
            continue
        if tok != "::" and not _has_digit(tok):
            continue
        start, end = m.span()
        before = text[max(0, start - 60) : start]
        split = _ipv6_host_port(tok, before, text.startswith("->", end))
        if split is not None and not m["zone"] and not m["plen"]:
            ip, port = split
            add(Candidate("endpoint", (start, end), text[start:end], ip=ip, port=port))
            continue
        whole = _is_ipv6(tok)
        if not m["zone"] and not m["plen"]:
            reading = _ipv6_port_reading(tok, whole, text, start)
            if reading is not None and reading[2] is None:
                add(Candidate("endpoint", (start, end), text[start:end], ip=reading[0], port=reading[1]))
                continue
        else:
            reading = None
        if not whole or _looks_like_mac_or_time(tok):
            continue
        if m["plen"]:
            add(Candidate("network", (start, end), text[start:end], ip=tok, prefixlen=int(m["plen"])))
        else:
            ambiguity = reading[2] if reading is not None else None
            add(Candidate("address", (start, end), text[start:end], ip=tok, ambiguity=ambiguity))

    for m in _FIVE_PART_RE.finditer(text) if "." in text and has_digit else ():
        start, end = m.span()
        before = text[max(0, start - 24) : start]
        if not spans.free(start, end) or not (
            m["port"] or m["plen"] or _ADDRESS_WORDS_BEFORE_RE.search(before)
        ):
            continue
        problem = "it has five numbers: an IPv4 address has four, each 0 to 255"
        port = _port(m["port"])
        kind = "network" if m["plen"] else "endpoint" if port is not None else "address"
        add(
            Candidate(
                kind, m.span(), m.group(0), ip=m["ip"], port=port, prefixlen=_port(m["plen"]), invalid=problem
            )
        )

    for m in _IPV4_RE.finditer(text) if "." in text else ():
        if not spans.free(*m.span()):
            continue
        start, end = m.span()
        before = text[max(0, start - 20) : start]
        # (each of `_VERSION_BEFORE_RE`'s words holds a "v", a "d" or an "e")
        if _is_version(text, start, before):
            continue
        if (
            m["port"] is None
            and m["plen"] is None
            and _looks_like_version_number(m["ip"])
            and _near_version_word(text, start, end)
        ):
            continue  # "AssemblyFileVersion ... should read `4.1.0.0`": a version, not a host
        ip = m["ip"]
        invalid = _ipv4_problem(ip)
        port = _port(m["port"])
        if m["plen"] is not None:
            add(
                Candidate(
                    "network", (start, end), m.group(0), ip=ip, prefixlen=int(m["plen"]), invalid=invalid
                )
            )
        else:
            kind = "endpoint" if port is not None else "address"
            add(Candidate(kind, (start, end), m.group(0), ip=ip, port=port, invalid=invalid))

    for m in _name_ports(text) if ":" in text else ():
        if not spans.free(*m.span()):
            continue
        host, port = m["host"].lower(), int(m["port"])
        if not _is_endpoint_name(host, port, text, m.start()):
            continue
        add(Candidate("endpoint", m.span(), m.group(0), host=host, port=port))

    if "localhost" not in lowered:
        localhosts: Iterator[re.Match[str]] = iter(())
    elif text.isascii():
        localhosts = _LOCALHOST_LOWER_RE.finditer(lowered)
    else:
        localhosts = _LOCALHOST_RE.finditer(text)
    for m in localhosts:
        if not spans.free(*m.span("host")):
            continue
        port = _port(m["port"])
        kind = "address" if port is None else "endpoint"
        add(Candidate(kind, m.span(), text[m.start() : m.end()], host="localhost", port=port))

    # One pass over the words serves the port keywords and both phrase matchers.
    lowered_words: frozenset[str] = frozenset()
    tokens: tuple[str, ...] = ()
    if len(lowered) == len(text):
        tokens = line_words(lowered)
        # "java.net.UnknownHostException" also holds the word "unknownhostexception"
        if "." in lowered:
            lowered_words = frozenset([*tokens, *(p for t in tokens if "." in t for p in t.split("."))])
        else:
            lowered_words = frozenset(tokens)
    if has_digit:
        _extract_ports(text, lowered, lowered_words, spans, add)
    _extract_errors(text, lowered, kb, spans, add, lowered_words, has_digit)
    if not kb.alias_index.keys().isdisjoint(lowered_words):
        _extract_terms(text, lowered, kb, spans, add, tokens)
    found.sort(key=lambda c: c.span)
    return found


def _extract_connection_outcomes(
    text: str, kb: Knowledge, spans: _Spans, emit: Callable[[Candidate], None]
) -> None:
    """ "Connection to HOST[:PORT] refused" or "timed out": the endpoint, and the error it met."""
    for m in _CONNECTION_TO_RE.finditer(text):
        start, end = m.start("host"), m.end("port" if m["port"] else "host")
        bare = m["host"].strip("[]")
        is_ip = _looks_like_ip(bare)
        # (a dotted number that is no address is left to the IPv4 pattern, which says why)
        if spans.free(start, end) and (is_ip or not bare.replace(".", "").isdigit()):
            port = _port(m["port"])
            emit(
                Candidate(
                    "address" if port is None else "endpoint",
                    (start, end),
                    text[start:end],
                    ip=bare if is_ip else None,
                    host=None if is_ip else bare.lower(),
                    port=port,
                )
            )
        entry_id = kb.error_symbols.get(_OUTCOME_SYMBOLS[m["outcome"]])
        if entry_id and spans.free(*m.span("outcome")):
            emit(Candidate("error", m.span("outcome"), m["outcome"], symbol=entry_id))


def _add_jupyter_url(
    text: str, url: re.Match[str], banner: re.Match[str], spans: _Spans, emit: Callable[[Candidate], None]
) -> None:
    """Jupyter's "http://(NAME or ADDRESS):PORT/...": one URL, reached at the second host it names."""
    start, end = url.start(), banner.end()
    if not spans.free(start, end):
        return
    host = banner["host"].strip("[]")
    is_ip = _looks_like_ip(host)
    scheme = url["scheme"].lower()
    emit(
        Candidate(
            "url",
            (start, end),
            text[start:end].rstrip(".,;:!)"),
            ip=host if is_ip else None,
            host=None if is_ip else host.lower(),
            port=_port(banner["port"]) or DEFAULT_PORTS[scheme] or None,
            scheme=scheme,
        )
    )


def _is_version(text: str, start: int, before: str) -> bool:
    """Whether the dotted quad at `start` is a version by its context: a version word just before it
    ("v", "version", "Version=", "AssemblyVersion(\""), or a table column headed "version"."""
    if (
        "v" in before or "V" in before or "d" in before or "D" in before or "e" in before or "E" in before
    ) and (_VERSION_BEFORE_RE.search(before)):
        return True
    line_start = text.rfind("\n", 0, start) + 1
    if text.find("|", line_start, start) < 0:
        return False
    # A Markdown table row: the quad's column, and the header above (the nearest row naming a version)
    column = text.count("|", line_start, start)
    at = line_start - 1
    for _ in range(40):  # rows back to the header
        if at <= 0:
            return False
        head_start = text.rfind("\n", 0, at) + 1
        row = text[head_start:at]
        if "|" not in row:
            return False
        if "ersion" in row or "ERSION" in row:
            cells = row.split("|")
            return column < len(cells) and "version" in cells[column].lower()
        at = head_start - 1
    return False


def _looks_like_version_number(ip: str) -> bool:
    """`4.1.0.0`, `2.0.0.0`: one digit first and a zero last, the shape of assembly and file versions (and
    of no address people write: 0.0.0.0 and 10.0.0.0 do not have it)."""
    return ip[0] in "123456789" and ip[1] == "." and ip.endswith(".0")


def _near_version_word(text: str, start: int, end: int) -> bool:
    """Whether the word "version" stands on the same line, within 200 characters of `[start, end)`."""
    line_start = text.rfind("\n", max(0, start - 200), start) + 1
    line_end = text.find("\n", end, end + 200)
    window = text[max(line_start, start - 200) : line_end if line_end >= 0 else end + 200]
    return "version" in window.lower()


def _extract_ssh_forwards(text: str, spans: _Spans, emit: Callable[[Candidate], None]) -> None:
    """ssh's server and its -p port; -L, -R and -D: the forwarded port, and the host and port the forward
    reaches."""
    for m in _SSH_SERVER_RE.finditer(text) if "-p" in text and "@" in text else ():
        host_group, port_group = ("host", "port") if m["host"] is not None else ("host2", "port2")
        host = m[host_group]
        if not spans.free(*m.span(host_group)) or not spans.free(*m.span(port_group)):
            continue
        spans.take(*m.span(port_group))  # the port goes with the host: one finding
        is_ip = _looks_like_ip(host)
        emit(
            Candidate(
                "endpoint",
                m.span(host_group),
                host,
                ip=host if is_ip else None,
                host=None if is_ip else host.lower(),
                port=int(m[port_group]),
            )
        )
    for m in _SSH_FORWARD_RE.finditer(text):
        if (m["host"] is None) != (m["flag"] == "D"):
            continue  # -L and -R name a destination, -D does not
        line_start = text.rfind("\n", max(0, m.start() - 200), m.start()) + 1
        if not _SSH_WORD_RE.search(text, max(line_start, m.start() - 200), m.start()):
            continue
        bind = (m["bind"] or "").strip("[]")
        if bind and _looks_like_ip(bind) and spans.free(m.start("bind"), m.end("lport")):
            # a bind address before the port: the local listening endpoint, "127.0.0.1:3306"
            start, end = m.start("bind"), m.end("lport")
            emit(Candidate("endpoint", (start, end), text[start:end], ip=bind, port=int(m["lport"])))
        elif spans.free(*m.span("lport")):
            emit(Candidate("port", m.span("lport"), m["lport"], port=int(m["lport"])))
        if m["host"] is None:
            continue
        start, end = m.start("host"), m.end("port")
        host = m["host"].strip("[]")
        if not spans.free(start, end):
            continue
        is_ip = _looks_like_ip(host)
        emit(
            Candidate(
                "endpoint",
                (start, end),
                text[start:end],
                ip=host if is_ip else None,
                host=None if is_ip else host.lower(),
                port=int(m["port"]),
            )
        )


def _extract_client_options(text: str, spans: _Spans, emit: Callable[[Candidate], None]) -> None:
    """A database client's -h HOST and its port option on one line: mysql's -P 3306 (its -p is the
    password), psql's and redis-cli's -p 5432."""
    for line in _CLIENT_LINE_RE.finditer(text):
        port_flag = "-P" if line["tool"].lower() in ("mysql", "mariadb") else "-p"
        host = _CLIENT_HOST_RE.search(text, line.start(), line.end())
        port = (_CLIENT_BIG_P_RE if port_flag == "-P" else _CLIENT_SMALL_P_RE).search(
            text, line.start(), line.end()
        )
        if (
            host is None
            or port is None
            or not spans.free(*host.span("host"))
            or not spans.free(*port.span("port"))
        ):
            continue
        spans.take(*port.span("port"))
        value = host["host"]
        is_ip = _looks_like_ip(value)
        emit(
            Candidate(
                "endpoint",
                host.span("host"),
                value,
                ip=value if is_ip else None,
                host=None if is_ip else value.lower(),
                port=int(port["port"]),
            )
        )


def _field_side(text: str, m: re.Match[str]) -> str | None:
    """The word glued before a field's key ("Src" of "SrcIP", "DB" of "DB_HOST", "rpc-bind" of
    "--rpc-bind-port"), normalised; None for a key and a value with only a space between them that is
    not a command-line option ("ip 10.0.0.1" in prose)."""
    key_start = at = m.start()
    while at > 0 and key_start - at < 24 and text[at - 1] in _FIELD_SIDE_CHARS:
        at -= 1
    if m["sp"] is not None and not text.startswith("--", at):
        return None
    side = text[at:key_start].strip("_.-").lower()
    return {"source": "src", "dest": "dst", "destination": "dst"}.get(side, side)


def _extract_field_pairs(text: str, spans: _Spans, emit: Callable[[Candidate], None]) -> None:
    """A host field and the next port field of the same side: the endpoint stands at the host's value,
    and the port's own field is taken with it."""
    ports: dict[str, list[re.Match[str]]] = {}  # by side, in order of position
    for m in _FIELD_PORT_RE.finditer(text):
        if (side := _field_side(text, m)) is not None:
            ports.setdefault(side, []).append(m)
    if not ports:
        return
    hosts: dict[str, list[re.Match[str]]] = {}
    for m in _FIELD_HOST_RE.finditer(text):
        if (side := _field_side(text, m)) is not None:
            hosts.setdefault(side, []).append(m)
    for side, fields in hosts.items():
        starts = [p.start() for p in ports.get(side, ())]
        for i, m in enumerate(fields):
            # the next port field of the same side, before the next host field of that side
            limit = min(fields[i + 1].start() if i + 1 < len(fields) else len(text), m.end() + 300)
            at = bisect.bisect_right(starts, m.start())
            if at < len(starts) and starts[at] < limit:
                _pair_fields(m, ports[side][at], spans, emit)


def _pair_fields(
    m: re.Match[str], pair: re.Match[str], spans: _Spans, emit: Callable[[Candidate], None]
) -> None:
    """One host field and its port field, as one endpoint at the host's value."""
    value = m["value"]
    if value.lower() in _FIELD_NOT_HOSTS or not spans.free(*m.span("value")):
        return
    is_ip = _looks_like_ip(value)
    if not is_ip and (":" in value or value.replace(".", "").isdigit()):
        return
    if not spans.free(*pair.span("port")):
        return
    spans.take(*pair.span("port"))
    emit(
        Candidate(
            "endpoint",
            m.span("value"),
            value,
            ip=value if is_ip else None,
            host=None if is_ip else value.lower(),
            port=int(pair["port"]),
        )
    )


@functools.lru_cache(maxsize=64)
def line_words(lowered: str) -> tuple[str, ...]:
    """`WORD_RE.findall(lowered)`, computed with one translation for the (usual) words without dots.

    Remembered for a few texts: extraction and the program lookup both ask for a line's words.
    """
    runs = lowered.encode("ascii", "replace").translate(ASCII_WORD_TABLE).decode("ascii").split()
    if "." not in lowered:
        return tuple(runs)
    return tuple([w for run in runs for w in (WORD_RE.findall(run) if "." in run else (run,))])


def _extract_ports(
    text: str, lowered: str, words: frozenset[str], spans: _Spans, emit: Callable[[Candidate], None]
) -> None:
    """Bare ports named by the words around them (in a text with a digit); each pattern runs only when
    its keyword is there."""
    ascii_text = text.isascii()
    patterns: list[tuple[re.Pattern[str], str]] = []  # each with the text it runs over
    if "-" in text:
        patterns.append((_PORT_DASH_RE, text))
    if not ascii_text or "port" in lowered or "listen" in lowered:
        patterns.append((_PORT_WORD_RE, text))
    if ":" in text:
        patterns.append((_ON_COLON_PORT_RE, text))
        patterns.append((_BARE_COLON_PORT_RE, text))
    if "端口" in text:
        patterns.append((_CJK_PORT_RE, text))
    if "tcp" in lowered:
        patterns.append((_GO_PORT_RE, text))
    if not ascii_text:
        patterns.append((_SCHEME_PORT_RE, text))
    elif not _SCHEME_PORT_WORDS.isdisjoint(words):
        patterns.append((_SCHEME_PORT_LOWER_RE, lowered))  # (digits are the same in both)
    if not ascii_text or ("port" in lowered and any(w in lowered for w in _PORT_NAMED_WORDS)):
        patterns.append((_PORT_NAMED_RE, text))
    if "/tcp" in lowered or "/udp" in lowered or "/sctp" in lowered:
        patterns.append((_PORT_PROTO_RE, text))
    if "EXPOSE" in text or ".listen(" in lowered or "http.server" in lowered or ".s.PGSQL." in text:
        patterns.append((_PORT_CALL_RE, text))
    if ":" in text and (
        "-i" in lowered
        or "findstr" in lowered
        or "*:" in text
        or "tcp:" in lowered
        or "udp:" in lowered
        or "sctp:" in lowered
    ):
        patterns.append((_PORT_LISTING_RE, text))
    for pattern, haystack in patterns:
        for m in pattern.finditer(haystack):
            for group in ("port", "port2") if m.re.groups > 1 else ("port",):
                if m[group] is None or not spans.free(*m.span(group)):
                    continue
                if (
                    pattern is _BARE_COLON_PORT_RE
                    and len(m[group]) == 2
                    and int(m[group]) not in _WELL_KNOWN_SMALL
                ):
                    continue
                emit(Candidate("port", m.span(group), m[group], port=int(m[group])))


def _extract_errors(
    text: str,
    lowered: str,
    kb: Knowledge,
    spans: _Spans,
    emit: Callable[[Candidate], None],
    words: frozenset[str],
    has_digit: bool,
) -> None:
    # A known symbol is a word of the lower-cased text (with "wsa" before it, for Winsock's names).
    maybe_symbol = not words or not kb.symbol_words.isdisjoint(words)
    claimed: list[tuple[int, int, str]] = []  # the symbols' and messages' spans, with their entries
    for m in _ERROR_SYMBOL_RE.finditer(text) if maybe_symbol and "E" in text else ():
        whole = m.group(0)
        entry_id = kb.error_symbols.get(whole[3:] if whole[0] == "W" else whole)
        if whole == "ECONNREFUSED" and _NODE_DNS_CALL_RE.search(text, max(0, m.start() - 24), m.start()):
            continue  # Node's "could not contact DNS servers": the DNS terms explain it, not a socket
        if entry_id:
            emit(Candidate("error", m.span(), whole, symbol=entry_id))
            claimed.append((*m.span(), entry_id))
    code_hint = has_digit and (
        "err" in lowered
        or "code" in lowered
        or "0x" in lowered
        or "(10" in lowered
        or "(11" in lowered
        or "curl" in lowered
        or "failed" in lowered
        or "mysql" in lowered
    )
    for m in _ERROR_CODE_RE.finditer(text) if code_hint else ():
        if m["curl"]:
            entry_id = kb.curl_codes.get(int(m["curl"]))
            group = "curl"
        else:
            group = next(g for g in ("code", "hexcode", "hex", "failed", "failed2", "mysql", "paren") if m[g])
            code = int(m[group], 16) & 0xFFFF if group == "hex" else int(m[group])
            if group == "hex" and not 10_000 <= code < 12_000:
                continue  # only Winsock's range: other 16-bit hex numbers are addresses, flags, colours
            entry_id = kb.error_codes.get(code)
            if entry_id is None and code < 0:
                entry_id = kb.error_codes.get(-code)
        # (MySQL's code stands alone: its host before it is a finding of its own)
        start, end = (m.start("mysql") - 1, m.end("mysql") + 1) if m["mysql"] else m.span()
        if entry_id and spans.free(start, end):
            emit(Candidate("error", (start, end), text[start:end], symbol=entry_id))
    if kb.unkeyed_message_re is not None and not text.isascii() and len(lowered) == len(text):
        for m in kb.unkeyed_message_re.finditer(lowered):  # wording without an ASCII word to look up
            entry_id = kb.error_messages[m.group(0)]
            if spans.free(*m.span()):
                claimed.append((*m.span(), entry_id))
                emit(Candidate("error", m.span(), text[m.start() : m.end()], symbol=entry_id))
    if not words:
        return  # no words, or case folding changed lengths (rare scripts) so spans would drift
    found = [
        (start, -len(message), message)
        for key in kb.message_keys.keys() & words
        for message in kb.message_keys[key]
        if (start := lowered.find(message)) >= 0
    ]
    # A message that overlaps the symbol or a longer message of its own error ("listen EACCES" around
    # "EACCES") says nothing more: one finding for it is enough.
    for start, minus_length, message in sorted(found):
        end, entry_id = start - minus_length, kb.error_messages[message]
        if any(e == entry_id and s < end and start < t for s, t, e in claimed):
            continue
        claimed.append((start, end, entry_id))
        emit(Candidate("error", (start, end), text[start:end], symbol=entry_id))


def _extract_terms(
    text: str,
    lowered: str,
    kb: Knowledge,
    spans: _Spans,
    emit: Callable[[Candidate], None],
    tokens: tuple[str, ...],
) -> None:
    # Called only when `lowered` has the same length as `text` (there are no tokens otherwise).
    # `tokens` are `WORD_RE.findall(lowered)`. Their positions are worked out only as far as an alias
    # that matches needs them: between two tokens stand only characters that cannot begin one, so each
    # token is the first occurrence of its text after the one before.
    starts: list[int] = []
    at = 0
    found: list[tuple[int, int, str, bool]] = []  # each alias found: span, entry, a `triggers` alias?
    index = kb.alias_index
    for i in [i for i, word in enumerate(tokens) if word in index]:
        for n, aliases in index[tokens[i]]:
            entry_id = aliases.get(tokens[i : i + n])
            if entry_id is None:
                continue
            while len(starts) < i + n:
                token = tokens[len(starts)]
                at = lowered.find(token, at)
                starts.append(at)
                at += len(token)
            start, end = starts[i], starts[i + n - 1] + len(tokens[i + n - 1])
            found.append((start, end, entry_id, kb.trigger_alias(entry_id, tokens[i : i + n])))
            break
    # One finding per term: where it first stands as error output ("blocked by CORS policy"), if it
    # does anywhere, else where it first stands.
    as_error = {entry_id for _, _, entry_id, triggers in found if triggers}
    seen: set[str] = set()
    for start, end, entry_id, triggers in found:
        if entry_id in seen or (entry_id in as_error and not triggers) or not spans.free(start, end):
            continue
        seen.add(entry_id)
        emit(Candidate("term", (start, end), text[start:end], symbol=entry_id))


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
        while start > 0 and start > at - 18 and text[start - 1] in _SCHEME_CHARS:
            start -= 1
        # The scheme may also start just after a dash of that run ("-redis://", "--url=x-http://").
        for begin in [start, *(i + 1 for i in range(start, at - 2) if text[i] == "-")]:
            if begin >= end and 2 <= at - begin <= 16:
                m = _URL_RE.match(text, begin)
                if m:
                    end = m.end()
                    yield m
                    break
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


def _is_endpoint_name(host: str, port: int, text: str, start: int) -> bool:
    """Tell `localhost:3000` and `db:5432` from `postgres:16`, `node:20` and `John 3:16`."""
    if host == "localhost" or host.endswith(".localhost") or host.endswith(".internal"):
        return True
    if "." in host:
        tld = host.rsplit(".", 1)[1]
        if host.count(".") == 1 and tld in _SOURCE_EXTENSIONS:
            return False  # a source file and its line: "server.js:12", "main.go:42"
        return tld.isalpha() and len(tld) >= 2 and not host.replace(".", "").isdigit()
    if host in _IMAGE_NAMES and port < 1024:
        return False
    if host in ("tcp", "udp", "sctp"):
        return False  # lsof's "-i tcp:8000": a protocol, not a host
    before = text[max(0, start - 12) : start].lower()
    if "image" in before or "from " in before:
        return False
    return port >= 1024 or port in _WELL_KNOWN_SMALL

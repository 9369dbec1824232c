"""What the core recognises in a message, each with its exact span, and what it must leave alone.

Every positive case names the fragment of the text that must come out as one finding: the finding's
span must be exactly where that fragment is, and its text exactly that fragment.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.core import explain, find, may_contain_findings
from bot.core.knowledge import Knowledge
from bot.core.model import Explanation, Finding
from tests.core.test_properties import assert_well_formed

ADDRESS_LIKE = ("endpoint", "address", "url", "network")


@dataclass(frozen=True)
class Case:
    """One expected finding: `fragment` of `text` is a `kind` finding with these properties."""

    text: str
    kind: str
    fragment: str | None = None  # defaults to the whole text
    ip: str | None = None
    host: str | None = None
    category: str | None = None
    port: int | None = None
    scheme: str | None = None

    @property
    def id(self) -> str:
        return self.text[:60]


def finding_at(exp: Explanation, text: str, fragment: str) -> Finding:
    """The finding whose span is exactly where `fragment` first occurs in `text`."""
    start = text.index(fragment)
    span = (start, start + len(fragment))
    for f in exp.findings:
        if f.span == span:
            return f
    found = [(f.kind, f.text, f.span) for f in exp.findings]
    raise AssertionError(f"no finding at {span} ({fragment!r}); found {found}")


def check(case: Case, kb: Knowledge) -> Finding:
    exp = explain(case.text, kb)
    fragment = case.fragment or case.text
    f = finding_at(exp, case.text, fragment)
    assert f.kind == case.kind
    assert f.text == fragment
    if case.ip is not None:
        assert f.address is not None and f.address.ip == case.ip
    if case.host is not None:
        assert f.host == case.host
    if case.category is not None:
        assert f.address is not None and f.address.category == case.category
    if case.port is not None:
        assert f.port is not None and f.port.number == case.port
    if case.scheme is not None:
        assert f.scheme == case.scheme
    return f


def params(*cases: Case) -> Any:
    return pytest.mark.parametrize("case", cases, ids=[c.id for c in cases])


# -- IPv4 ------------------------------------------------------------------------------------------


@params(
    Case("127.0.0.1", "address", ip="127.0.0.1", category="loopback"),
    Case("ping 8.8.8.8 please", "address", "8.8.8.8", ip="8.8.8.8", category="public"),
    Case("127.0.0.1:62893", "endpoint", ip="127.0.0.1", category="loopback", port=62893),
    Case("server at 192.168.1.10:8080 is down", "endpoint", "192.168.1.10:8080", category="private"),
    Case("(10.0.0.5:443)", "endpoint", "10.0.0.5:443", ip="10.0.0.5", port=443, category="private"),
    Case("bind 0.0.0.0:80 failed", "endpoint", "0.0.0.0:80", category="unspecified", port=80),
    Case("tailscale gave me 100.101.102.103", "address", "100.101.102.103", category="shared"),
    Case("169.254.169.254 is the metadata address", "address", "169.254.169.254", category="link-local"),
)
def test_ipv4_with_and_without_port(case: Case, kb: Knowledge) -> None:
    check(case, kb)


@pytest.mark.parametrize(
    ("text", "bad"),
    [("256.1.1.1", "256"), ("123.456.789.1", "456"), ("connect to 10.0.300.1:22", "300")],
)
def test_out_of_range_ipv4_is_reported_invalid_with_a_reason(text: str, bad: str, kb: Knowledge) -> None:
    exp = explain(text, kb)
    [f] = [f for f in exp.findings if f.address is not None]
    assert f.address is not None
    assert f.address.category == "invalid"
    assert f.address.reason and bad in f.address.reason
    assert text[f.span[0] : f.span[1]] == f.text
    answer = exp.answer.to_json()
    assert "255" in answer["summary"] + "".join(s["body"] for s in answer["sections"])


# -- IPv6 ------------------------------------------------------------------------------------------


@params(
    Case("2001:db8::1", "address", ip="2001:db8::1", category="documentation"),
    Case("::1", "address", ip="::1", category="loopback"),
    Case(
        "full form 2001:0db8:0000:0000:0000:0000:0000:0001 here",
        "address",
        "2001:0db8:0000:0000:0000:0000:0000:0001",
        category="documentation",
    ),
    Case("ping fe80::1%eth0 now", "address", "fe80::1%eth0", ip="fe80::1", category="link-local"),
    Case("::ffff:127.0.0.1", "address", category="ipv4-mapped"),
    Case("fd12:3456:789a::1", "address", category="unique-local"),
    Case("[::1]:8080", "endpoint", ip="::1", port=8080, category="loopback"),
    Case("open [2001:db8::2]:443 pls", "endpoint", "[2001:db8::2]:443", port=443, category="documentation"),
    Case("[::1]", "address", ip="::1", category="loopback"),
    # Node and others print host:port unbracketed after the error code.
    Case("connect ECONNREFUSED ::1:5432", "endpoint", "::1:5432", ip="::1", port=5432, category="loopback"),
    Case(
        "Error: listen EADDRINUSE: address already in use :::3000",
        "endpoint",
        ":::3000",
        ip="::",
        port=3000,
        category="unspecified",
    ),
    Case("ECONNREFUSED ::1:27017", "endpoint", "::1:27017", ip="::1", port=27017, category="loopback"),
)
def test_ipv6_in_every_written_form(case: Case, kb: Knowledge) -> None:
    check(case, kb)


def test_a_zone_is_kept_in_the_span_but_not_in_the_ip(kb: Knowledge) -> None:
    f = check(Case("fe80::1%eth0", "address"), kb)
    assert f.address is not None and f.address.ip == "fe80::1"


# -- host names ------------------------------------------------------------------------------------


@params(
    Case("localhost:3000", "endpoint", host="localhost", port=3000, category="loopback"),
    Case("go to localhost:5173/ please", "endpoint", "localhost:5173", host="localhost", port=5173),
    Case("app.localhost:8080", "endpoint", host="app.localhost", port=8080, category="loopback"),
    Case("host.docker.internal:5432", "endpoint", host="host.docker.internal", port=5432),
    Case("localhost port 9222", "endpoint", host="localhost", port=9222, category="loopback"),
    Case("curl http://app.localhost/", "url", "http://app.localhost/", host="app.localhost", port=80),
    Case(
        "db at https://db.example.com:8443/x", "url", "https://db.example.com:8443/x", host="db.example.com"
    ),
)
def test_host_names_with_ports_are_endpoints(case: Case, kb: Knowledge) -> None:
    check(case, kb)


def test_localhost_is_loopback_with_a_null_ip(kb: Knowledge) -> None:
    f = check(Case("localhost:3000", "endpoint"), kb)
    assert f.to_json()["address"] == {"ip": None, "version": None, "category": "loopback"}


# -- URLs ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("scheme", "port"),
    [
        ("http", 80),
        ("https", 443),
        ("ws", 80),
        ("wss", 443),
        ("postgres", 5432),
        ("postgresql", 5432),
        ("mysql", 3306),
        ("mongodb", 27017),
        ("redis", 6379),
        ("amqp", 5672),
        ("ftp", 21),
        ("ssh", 22),
    ],
)
def test_urls_get_the_scheme_default_port(scheme: str, port: int, kb: Knowledge) -> None:
    url = f"{scheme}://localhost/app"
    text = f"try {url} now"
    f = check(Case(text, "url", url, host="localhost", port=port, scheme=scheme), kb)
    assert f.to_json()["port"]["number"] == port


def test_a_written_port_beats_the_default(kb: Knowledge) -> None:
    check(Case("redis://cache:6380/0", "url", host="cache", port=6380, scheme="redis"), kb)


def test_a_url_with_an_ip_host_is_classified(kb: Knowledge) -> None:
    text = "DevTools listening on ws://127.0.0.1:9222/devtools/browser/abc"
    check(Case(text, "url", "ws://127.0.0.1:9222/devtools/browser/abc", ip="127.0.0.1", port=9222), kb)


@pytest.mark.parametrize(
    "text",
    [
        "postgres://bob:hunter2@db:5432/x",
        "DATABASE_URL=postgresql://bob:hunter2@localhost/app",
        "mongodb://admin:hunter2@127.0.0.1:27017/?authSource=admin",
        "amqp://guest:hunter2@rabbit",
        "redis://:hunter2@cache:6379/0",
    ],
)
def test_credentials_in_a_url_are_never_echoed(text: str, kb: Knowledge) -> None:
    exp = explain(text, kb)
    urls = [f for f in exp.findings if f.kind == "url"]
    assert urls, "the URL itself is still found"
    doc = exp.to_json()
    assert "hunter2" not in json.dumps(doc)  # the query too: "***@" stands for the user-info part
    assert doc["query"].replace("***", "", 1) != text and "***@" in doc["query"]
    for part in exp.parts:
        assert "hunter2" not in json.dumps(part.to_json())


def test_the_password_is_nowhere_in_the_answer_or_findings(kb: Knowledge) -> None:
    exp = explain("postgres://bob:hunter2@db:5432/x", kb)
    out = json.dumps({"findings": exp.to_json()["findings"], "answer": exp.to_json()["answer"]})
    assert "hunter2" not in out
    [f] = exp.findings
    assert f.span == (0, 32) and f.host == "db" and f.port is not None and f.port.number == 5432


# -- networks --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "prefix", "size", "first", "last", "category"),
    [
        ("192.168.0.0/16", "192.168.0.0/16", 65536, "192.168.0.0", "192.168.255.255", "private"),
        ("allow 10.0.0.0/8 only", "10.0.0.0/8", 2**24, "10.0.0.0", "10.255.255.255", "private"),
        ("fd00::/8", "fd00::/8", 2**120, "fd00::", "fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "unique-local"),
        ("127.0.0.0/8", "127.0.0.0/8", 2**24, "127.0.0.0", "127.255.255.255", "loopback"),
        ("100.64.0.0/10", "100.64.0.0/10", 2**22, "100.64.0.0", "100.127.255.255", "shared"),
    ],
)
def test_cidr_networks_with_size_and_range(
    text: str, prefix: str, size: int, first: str, last: str, category: str, kb: Knowledge
) -> None:
    exp = explain(text, kb)
    f = finding_at(exp, text, prefix)
    assert f.kind == "network" and f.network is not None
    assert (f.network.size, f.network.first, f.network.last) == (size, first, last)
    assert f.network.category == category
    assert f"{size:,}" in exp.answer.title


def test_a_network_with_host_bits_set_says_so(kb: Knowledge) -> None:
    exp = explain("192.168.1.1/24", kb)
    [f] = exp.findings
    assert f.network is not None and f.network.first == "192.168.1.0"
    assert f.network.reason and "192.168.1.0/24" in f.network.reason


# -- bare ports ------------------------------------------------------------------------------------


@params(
    Case("postgres is on port 5432", "port", "5432", port=5432),
    Case("the app runs on :3000", "port", "3000", port=3000),
    Case("docker run -p 8080:80 nginx", "port", "8080", port=8080),
    Case("PORT=3000 npm start", "port", "3000", port=3000),
    Case("uvicorn main:app --port 8000", "port", "8000", port=8000),
    Case("listen tcp :8080: bind: address already in use", "port", "8080", port=8080),
    Case("Tomcat started on port(s): 8080 (http) with context path ''", "port", "8080", port=8080),
    Case("iptables -A INPUT -p tcp --dport 22 -j ACCEPT", "port", "22", port=22),
    Case("iptables -t nat -A PREROUTING -j REDIRECT --to-ports 8080", "port", "8080", port=8080),
    Case("Get-NetTCPConnection -LocalPort 5432", "port", "5432", port=5432),
    Case("LocalPort : 5432", "port", "5432", port=5432),
    Case("Protocol=UDP SrcPort=5353(mdns)", "port", "5353", port=5353),
    Case("ufw allow 8080/tcp", "port", "8080", port=8080),
    Case("22/tcp   open  ssh", "port", "22", port=22),
    Case("EXPOSE 3000", "port", "3000", port=3000),
    Case("app.listen(3000, () => console.log('up'))", "port", "3000", port=3000),
    Case("python3 -m http.server 8000", "port", "8000", port=8000),
)
def test_bare_ports_in_context(case: Case, kb: Knowledge) -> None:
    f = check(case, kb)
    assert f.to_json()["address"] is None


@pytest.mark.parametrize(
    "text",
    [
        "dynamic ports 1024-65535",
        "ports 49152–65535",
        "--port 8000-8010",
        "3/4 tcp",
        "expose the 2 ports",
        "I'll expose 3 of them tomorrow",
        "ran python http.server 3 times",
    ],
)
def test_a_range_of_ports_or_a_number_near_a_port_word_is_not_a_port(text: str, kb: Knowledge) -> None:
    assert [f for f in explain(text, kb).findings if f.kind == "port"] == []


def test_docker_publish_finds_both_host_and_container_ports(kb: Knowledge) -> None:
    text = "docker run -p 8080:80 nginx"
    exp = explain(text, kb)
    assert finding_at(exp, text, "8080").port is not None
    [container] = [f for f in exp.findings if f.span == (19, 21)]  # the 80 after the colon
    assert container.kind == "port" and container.port is not None and container.port.number == 80


@pytest.mark.parametrize(
    ("text", "ip", "port", "category"),
    [
        ("docker run -p 127.0.0.1:8080:80 nginx", "127.0.0.1", 8080, "loopback"),  # this machine only
        ("docker run --publish=0.0.0.0:5432:5432 postgres", "0.0.0.0", 5432, "unspecified"),
        ("docker run -p 127.0.0.1:5353:53/udp coredns/coredns", "127.0.0.1", 5353, "loopback"),
    ],
)
def test_docker_publish_with_an_address_is_the_host_side_endpoint(
    text: str, ip: str, port: int, category: str, kb: Knowledge
) -> None:
    [f] = explain(text, kb).findings
    assert f.kind == "endpoint" and f.address is not None and f.port is not None
    assert (f.address.ip, f.port.number, f.address.category) == (ip, port, category)


@pytest.mark.parametrize(
    ("text", "ports"),
    [
        ("lsof -i :3000", [3000]),
        ("lsof -nP -iTCP:5432 -sTCP:LISTEN", [5432]),
        ("sudo lsof -i tcp:8000", [8000]),
        ("netstat -ano | findstr :8080", [8080]),
        ('LISTEN 0      511          *:3000            *:*    users:(("node",pid=5678,fd=20))', [3000]),
        ("tcp   LISTEN 0  128   *:22    [::]:*", [22]),
        ("adb reverse tcp:8081 tcp:8081", [8081, 8081]),
    ],
)
def test_the_port_in_commands_and_listings_people_paste(text: str, ports: list[int], kb: Knowledge) -> None:
    found = [f for f in explain(text, kb).findings if f.kind in ("port", "endpoint")]
    assert [(f.kind, f.port and f.port.number) for f in found] == [("port", p) for p in ports]


@pytest.mark.parametrize("text", ["every hour at *:30", "a*:3000 b", "tcp:x", "the -i flag: 3000 ms"])
def test_stars_and_protocol_words_without_a_listing_are_not_ports(text: str, kb: Knowledge) -> None:
    assert [f for f in explain(text, kb).findings if f.kind in ("port", "endpoint")] == []


@pytest.mark.parametrize("text", ["ps -p 1234", "top -p 4321", "PS -p 1234 -o comm="])
def test_the_process_id_after_ps_or_top_is_not_a_port(text: str, kb: Knowledge) -> None:
    assert explain(text, kb).findings == ()


def test_a_bare_port_is_an_endpoint_when_localhost_precedes_it(kb: Knowledge) -> None:
    f = check(Case("localhost port 9222", "endpoint"), kb)
    assert f.port is not None and f.port.number == 9222


@pytest.mark.parametrize("text", ["port 70000", "port: 99999"])
def test_a_port_above_65535_is_invalid(text: str, kb: Knowledge) -> None:
    [f] = [f for f in explain(text, kb).findings if f.kind == "port"]
    assert f.port is not None and f.port.range == "invalid"


# -- socket errors ---------------------------------------------------------------------------------

ERROR_CASES: list[tuple[str, str, str]] = [
    # (text, expected symbol, the fragment that must be a finding)
    # by symbol (Node, libuv)
    ("Error: connect ECONNREFUSED 127.0.0.1:5432", "ECONNREFUSED", "ECONNREFUSED"),
    ("Error: listen EADDRINUSE: address already in use :::3000", "EADDRINUSE", "EADDRINUSE"),
    (
        "Error: listen EADDRNOTAVAIL: address not available 192.168.1.50:3000",
        "EADDRNOTAVAIL",
        "EADDRNOTAVAIL",
    ),
    ("Error: listen EACCES: permission denied 0.0.0.0:80", "EACCES", "EACCES"),
    ("Error: connect ETIMEDOUT 10.0.0.5:443", "ETIMEDOUT", "ETIMEDOUT"),
    ("Error: connect EHOSTUNREACH 192.168.1.20:22", "EHOSTUNREACH", "EHOSTUNREACH"),
    ("Error: connect ENETUNREACH 2001:db8::1:443", "ENETUNREACH", "ENETUNREACH"),
    ("Error: read ECONNRESET", "ECONNRESET", "ECONNRESET"),
    ("Error: socket hang up ECONNABORTED", "ECONNABORTED", "ECONNABORTED"),
    ("Error: write EPIPE", "EPIPE", "EPIPE"),
    ("Error: getaddrinfo ENOTFOUND db", "ENOTFOUND", "ENOTFOUND"),
    ("Error: getaddrinfo EAI_AGAIN registry.npmjs.org", "EAI_AGAIN", "EAI_AGAIN"),
    ("WSAECONNREFUSED", "ECONNREFUSED", "WSAECONNREFUSED"),
    # by number: Linux, macOS and Windows errno, negative libuv codes, curl exit codes
    ("ConnectionRefusedError: [Errno 111] Connection refused", "ECONNREFUSED", "Errno 111"),
    ("ConnectionRefusedError: [Errno 61] Connection refused", "ECONNREFUSED", "Errno 61"),
    ("OSError: [Errno 98] Address already in use", "EADDRINUSE", "Errno 98"),
    ("OSError: [Errno 48] Address already in use", "EADDRINUSE", "Errno 48"),
    ("OSError: [Errno 99] Cannot assign requested address", "EADDRNOTAVAIL", "Errno 99"),
    ("[WinError 10061] 由于目标计算机积极拒绝，无法连接。", "ECONNREFUSED", "WinError 10061"),
    ("[WinError 10061] Es konnte keine Verbindung hergestellt werden", "ECONNREFUSED", "WinError 10061"),
    ("Error 10048", "EADDRINUSE", "Error 10048"),
    ("OSError: [WinError 10049] Die angeforderte Adresse ist ungültig", "EADDRNOTAVAIL", "WinError 10049"),
    ("[WinError 10053] 你的主机中的软件中止了一个已建立的连接。", "ECONNABORTED", "WinError 10053"),
    ("errno: -111", "ECONNREFUSED", "errno: -111"),
    (
        "curl: (7) Failed to connect to localhost port 8080 after 0 ms: Couldn't connect",
        "ECONNREFUSED",
        "curl: (7)",
    ),
    ("curl: (28) Connection timed out after 5001 milliseconds", "ETIMEDOUT", "curl: (28)"),
    ("curl: (6) Could not resolve host: example.invalid", "ENOTFOUND", "curl: (6)"),
    # by message: Linux/macOS strerror, Windows, Python, Java, Go, psql, redis-cli
    ("java.net.ConnectException: Connection refused", "ECONNREFUSED", "Connection refused"),
    ("java.net.BindException: Address already in use", "EADDRINUSE", "Address already in use"),
    ("java.net.SocketTimeoutException: connect timed out", "ETIMEDOUT", "connect timed out"),
    ("java.net.NoRouteToHostException: No route to host", "EHOSTUNREACH", "No route to host"),
    ("java.net.UnknownHostException: db", "ENOTFOUND", "UnknownHostException"),
    ("dial tcp 127.0.0.1:5432: connect: connection refused", "ECONNREFUSED", "connection refused"),
    ("dial tcp: lookup db on 127.0.0.11:53: no such host", "ENOTFOUND", "no such host"),
    (
        "read tcp 10.0.0.1:5000->10.0.0.2:80: read: connection reset by peer",
        "ECONNRESET",
        "connection reset by peer",
    ),
    ("connect: Network is unreachable", "ENETUNREACH", "Network is unreachable"),
    ("bind: Permission denied", "EACCES", "bind: Permission denied"),
    (
        "socket.gaierror: [Errno -3] Temporary failure in name resolution",
        "EAI_AGAIN",
        "Temporary failure in name resolution",
    ),
    ("socket.gaierror: [Errno -2] Name or service not known", "ENOTFOUND", "Name or service not known"),
    (
        "No connection could be made because the target machine actively refused it",
        "ECONNREFUSED",
        "actively refused it",
    ),
    ("Software caused connection abort", "ECONNABORTED", "Software caused connection abort"),
    ("BrokenPipeError: [Errno 32] Broken pipe", "EPIPE", "BrokenPipeError"),
    (
        'psql: error: connection to server at "localhost" (::1), port 5432 failed: Connection refused',
        "ECONNREFUSED",
        "Connection refused",
    ),
    (
        "Could not connect to Redis at 127.0.0.1:6379: Connection refused",
        "ECONNREFUSED",
        "Connection refused",
    ),
]


@pytest.mark.parametrize(("text", "symbol", "fragment"), ERROR_CASES, ids=[c[0][:50] for c in ERROR_CASES])
def test_socket_errors_by_symbol_number_and_message(
    text: str, symbol: str, fragment: str, kb: Knowledge
) -> None:
    exp = explain(text, kb)
    f = finding_at(exp, text, fragment)
    assert f.kind == "error"
    assert f.error == symbol
    assert f.to_json()["error"] == symbol
    assert exp.triggered is True
    # the error leads: a diagnosis of it, or its own entry (named by the endpoint it was about)
    assert exp.diagnoses or symbol in exp.answer.title or exp.answer.title.startswith(exp.parts[0].title)


def test_all_twelve_symbols_of_the_issue_are_recognised(kb: Knowledge) -> None:
    symbols = {
        "ECONNREFUSED", "EADDRINUSE", "EADDRNOTAVAIL", "EACCES", "ETIMEDOUT", "EHOSTUNREACH",
        "ENETUNREACH", "ECONNRESET", "ECONNABORTED", "EPIPE", "ENOTFOUND", "EAI_AGAIN",
    }  # fmt: skip
    for symbol in symbols:
        [f] = explain(f"code: '{symbol}'", kb).findings
        assert f.error == symbol


def test_go_broken_pipe_is_epipe(kb: Knowledge) -> None:
    [f] = explain("write tcp 127.0.0.1:5432->127.0.0.1:50000: write: broken pipe", kb).findings[-1:]
    assert f.error == "EPIPE"


@pytest.mark.parametrize(
    ("text", "error_texts"),
    [
        ("Error: listen EACCES: permission denied 0.0.0.0:80", ["EACCES"]),  # the symbol inside its message
        ("error: listen eacces 0.0.0.0:80", ["listen eacces"]),  # no symbol in capitals: the message
        ("connect ETIMEDOUT 10.0.0.1:443 ... connect ETIMEDOUT", ["ETIMEDOUT", "ETIMEDOUT"]),
        # a message of another error next to a symbol still counts
        (
            "connect ECONNREFUSED 127.0.0.1:80 after Connection reset by peer",
            ["ECONNREFUSED", "Connection reset by peer"],
        ),
    ],
)
def test_an_error_is_found_once_where_its_symbol_and_message_overlap(
    text: str, error_texts: list[str], kb: Knowledge
) -> None:
    assert [f.text for f in explain(text, kb).findings if f.kind == "error"] == error_texts


def test_an_endpoint_and_its_error_are_both_found(kb: Knowledge) -> None:
    text = "connect ECONNREFUSED ::1:5432"
    kinds = [f.kind for f in explain(text, kb).findings]
    assert kinds == ["error", "endpoint"]


# -- terms and programs ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "fragment", "term"),
    [
        ("what is an ephemeral port?", "ephemeral port", "ephemeral-port"),
        ("what's a loopback address", "loopback address", "loopback"),
        ("dynamic ports confuse me", "dynamic ports", "dynamic-port-range"),
        ("well-known ports need root", "well-known ports", "well-known-port"),
        ("what is a network socket", "network socket", "socket"),
        ("my ISP uses CGNAT", "CGNAT", "cgnat"),
        ("behind NAT at home", "NAT", "nat"),
        ("how do I set up port forwarding", "port forwarding", "port-forwarding"),
        ("check the firewall", "firewall", "firewall"),
        ("does it support IPv6", "IPv6", "ipv6"),
        ("what is a port number", "port number", "port"),
        ("explain Port-Forwarding to me", "Port-Forwarding", "port-forwarding"),
    ],
)
def test_terms_and_their_aliases(text: str, fragment: str, term: str, kb: Knowledge) -> None:
    exp = explain(text, kb)
    f = finding_at(exp, text, fragment)
    assert f.kind == "term"
    assert f.term == term
    assert f.to_json()["term"] == term


def test_a_bare_localhost_is_a_loopback_name_that_does_not_trigger(kb: Knowledge) -> None:
    text = "is localhost the same as 127.0.0.1?"
    exp = explain(text, kb)
    f = finding_at(exp, text, "localhost")
    assert f.kind == "address" and f.host == "localhost"
    assert f.address is not None and f.address.category == "loopback" and f.address.ip is None
    assert explain("localhost is slow today", kb).triggered is False


def test_a_term_alone_does_not_trigger_an_unasked_answer(kb: Knowledge) -> None:
    exp = explain("what is an ephemeral port?", kb)
    assert exp.findings and exp.triggered is False
    assert exp.answer.title == kb.entries["ephemeral-port"].title


@pytest.mark.parametrize(
    ("text", "program"),
    [
        ("DevTools listening on ws://127.0.0.1:9222/devtools/browser/0b7c", "chrome-devtools"),
        ("Debug service listening on ws://127.0.0.1:50123/abc=/ws", "dart-vm-service"),
        ("Could not connect to Redis at 127.0.0.1:6379: Connection refused", "redis-server"),
        ('psql: error: connection to server at "localhost" (::1), port 5432 failed', "postgres-server"),
        ("Tomcat started on port(s): 8080 (http) with context path ''", "spring-boot"),
        ("Tomcat started on port 8080 (http) with context path '/'", "spring-boot"),
        (
            'psycopg2.OperationalError: connection to server on socket "/tmp/.s.PGSQL.5433" failed',
            "postgres-server",
        ),
    ],
)
def test_programs_are_recognised_from_the_line_around_an_address(
    text: str, program: str, kb: Knowledge
) -> None:
    exp = explain(text, kb)
    with_program = [f for f in exp.findings if f.program is not None]
    assert with_program, [(f.kind, f.text) for f in exp.findings]
    assert with_program[0].program == program
    assert with_program[0].to_json()["program"] == program


PSQL_SOCKET_ERROR = (
    'psql: error: connection to server on socket "/var/run/postgresql/.s.PGSQL.5432" failed: No such file or '
    "directory\n\tIs the server running locally and accepting connections on that socket?"
)


def test_postgres_unix_socket_error_names_its_port_and_the_socket(kb: Knowledge) -> None:
    # The socket file is named after the server's port: a psql socket error is about port 5432.
    exp = explain(PSQL_SOCKET_ERROR, kb)
    [port] = [f for f in exp.findings if f.kind == "port"]
    assert (port.text, port.port and port.port.number, port.program) == ("5432", 5432, "postgres-server")
    assert "postgres-server" in exp.answer.entry_ids
    sections = {s.heading: s.body for s in exp.answer.sections}
    assert "-h localhost" in sections["What to do"]  # the way around the socket
    assert any(".s.PGSQL.5432" in p.summary for p in exp.parts)  # says which file the socket is
    assert exp.triggered


@pytest.mark.parametrize("text", ["rm .s.PGSQL.lock", "the .s.PGSQL. prefix", "x.s.PGSQL.5432.lock"])
def test_a_pgsql_name_without_a_port_is_not_a_port(text: str, kb: Knowledge) -> None:
    assert [f for f in explain(text, kb).findings if f.kind == "port"] == []


@pytest.mark.parametrize(
    ("text", "term"),
    [
        ("Error: querySrv ECONNREFUSED _mongodb._tcp.cluster0.ab1cd.mongodb.net", "dns-srv-record"),
        ("Error: queryA ECONNREFUSED example.com", "dns"),
    ],
)
def test_econnrefused_from_a_node_dns_query_is_a_dns_failure_not_a_refused_connection(
    text: str, term: str, kb: Knowledge
) -> None:
    # Node's DNS module reports "could not contact DNS servers" as ECONNREFUSED after the query's name.
    exp = explain(text, kb)
    assert [(f.kind, f.term) for f in exp.findings] == [("term", term)]
    assert exp.answer.title == kb.entries[term].title
    assert "econnrefused" not in exp.answer.entry_ids


def test_a_query_error_triggers_an_unasked_answer_and_a_passing_dns_word_does_not(kb: Knowledge) -> None:
    assert explain("Error: querySrv ECONNREFUSED _mongodb._tcp.cluster0.ab1cd.mongodb.net", kb).triggered
    assert explain("Error: querySoa ECONNREFUSED example.com", kb).triggered
    assert not explain("is it always dns?", kb).triggered  # an alias that is not error output
    assert not explain("we use srv records for service discovery", kb).triggered
    # the same symbol after anything but a DNS query is still a refused connection
    [f] = [f for f in explain("queries ECONNREFUSED 127.0.0.1:80", kb).findings if f.kind == "error"]
    assert f.error == "ECONNREFUSED"


CHROME_CORS = (
    "Access to fetch at 'http://localhost:8000/api' from origin 'http://localhost:3000' has been blocked by "
    "CORS policy: No 'Access-Control-Allow-Origin' header is present on the requested resource."
)


@pytest.mark.parametrize(
    "text",
    [
        CHROME_CORS,
        "CORS again :( " + CHROME_CORS,  # the word first, the error output later: the error output counts
        # Firefox
        "Cross-Origin Request Blocked: The Same Origin Policy disallows reading the remote resource",
    ],
)
def test_a_cors_error_leads_the_answer_and_triggers(text: str, kb: Knowledge) -> None:
    exp = explain(text, kb)
    assert "CORS" in exp.answer.title  # ahead of the URLs' answers
    assert exp.triggered
    [term] = [f for f in exp.findings if f.kind == "term"]
    assert term.term == "cors" and kb.term_triggers("cors", term.text)


def test_cors_in_conversation_is_explained_when_asked_but_does_not_trigger(kb: Knowledge) -> None:
    exp = explain("how do I set up cors in express?", kb)
    assert [(f.kind, f.term) for f in exp.findings] == [("term", "cors")]
    assert not exp.triggered


def test_a_mongodb_srv_string_is_explained_without_echoing_its_password(kb: Knowledge) -> None:
    exp = explain("MONGO_URL=mongodb+srv://user:hunter2@cluster0.ab1cd.mongodb.net/test", kb)
    assert [(f.kind, f.text, f.term) for f in exp.findings] == [("term", "mongodb+srv", "dns-srv-record")]
    assert "hunter2" not in json.dumps(exp.to_json())
    assert exp.to_json()["query"] == "MONGO_URL=mongodb+srv://***@cluster0.ab1cd.mongodb.net/test"


def test_a_banner_on_another_line_does_not_claim_the_address(kb: Knowledge) -> None:
    text = "DevTools listening on a port\nand here is 127.0.0.1:9999"
    [f] = [f for f in explain(text, kb).findings if f.kind == "endpoint"]
    assert f.program is None


# -- negatives -------------------------------------------------------------------------------------

LOOKALIKES = [
    "released v1.2.3.4 today",
    "v1.2.3.4",
    "Microsoft Windows [Version 10.0.19045.3803]",
    "10.0.19045.3803",
    "meet at 12:30",
    "12:30",
    "[13:30:57] INFO started",
    "13:30:57",
    "John 3:16",
    "Genesis 1:1 and Psalm 23:4",
    "final score 3:1",
    "the ratio is 16:9",
    "MAC 00:1a:2b:3c:4d:5e",
    "00:1A:2B:3C:4D:5E",
    "std::vector<int> v;",
    "a::b",
    "use foo::bar::Baz;",
    "v1::detail::fn()",
    "commit 3f2a9c1d8e7b6a5f4e3d2c1b0a9f8e7d6c5b4a3f",
    "sha256:9b2a3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f809",
    "postgres:16",
    "image: postgres:16",
    "node:20-alpine",
    "FROM node:20-alpine",
    "python:3.11",
    "docker pull python:3.11",
]

CHATTER = [
    "hey everyone, how's it going?",
    "lol that's hilarious",
    "can someone review my PR",
    "i'll be back in 10 minutes",
    "the meeting moved to 3pm",
    "thanks for the help!",
    "anyone know a good pizza place?",
    "it's 2024 and we still have this bug",
    "version 1.2 broke everything",
    "just pushed the fix",
    "good morning :)",
    "brb coffee",
    "I scored 95 on the test",
    "my phone number is 555-1234",
    "see chapter 3.2 for details",
    "use ::before in CSS",
    "price went up 3.5%",
    "git checkout -b feature/login",
    "the build took 12.5 seconds",
    "check https://github.com/python/cpython for the source",
    "ok :D see you at 9",
    "it took 1:23.45 to finish the lap",
]


@pytest.mark.parametrize("text", LOOKALIKES + CHATTER)
def test_lookalikes_and_chatter_give_no_address_or_endpoint(text: str, kb: Knowledge) -> None:
    exp = explain(text, kb)
    kinds = [(f.kind, f.text) for f in exp.findings if f.kind in ADDRESS_LIKE]
    assert kinds == []


@pytest.mark.parametrize("text", LOOKALIKES + CHATTER)
def test_lookalikes_and_chatter_do_not_trigger(text: str, kb: Knowledge) -> None:
    assert explain(text, kb).triggered is False


@pytest.mark.parametrize("text", CHATTER)
def test_ordinary_chatter_finds_nothing_and_says_so(text: str, kb: Knowledge) -> None:
    exp = explain(text, kb)
    assert exp.findings == ()
    assert exp.answer.title == "Nothing to explain here"


@pytest.mark.parametrize("text", CHATTER + LOOKALIKES)
def test_passive_mode_finds_the_same_as_active_mode(text: str, kb: Knowledge) -> None:
    assert explain(text, kb, passive=True).findings == explain(text, kb).findings


def test_what_is_a_socket_finds_the_socket_term(kb: Knowledge) -> None:
    assert [f.term for f in explain("what is a socket?", kb).findings] == ["socket"]


def test_docker_ps_port_column_gives_the_host_endpoint_and_the_container_port(kb: Knowledge) -> None:
    findings = explain("0.0.0.0:8080->80/tcp, :::8080->80/tcp", kb).findings
    found = [(f.kind, f.text) for f in findings]
    assert ("endpoint", "0.0.0.0:8080") in found
    assert ("port", "80") in found
    [v6] = [f for f in findings if f.text == ":::8080"]  # docker's unbracketed [::]:8080
    assert v6.kind == "endpoint" and v6.address is not None and v6.address.ip == "::"
    assert v6.port is not None and v6.port.number == 8080


@pytest.mark.parametrize(
    ("text", "ip", "host", "port"),
    [
        (
            "OSError: [Errno 98] error while attempting to bind on address ('0.0.0.0', 8000)",
            "0.0.0.0",
            None,
            8000,
        ),
        ("sock.connect(('::1', 8080, 0, 0))", "::1", None, 8080),
        ("ConnectionRefusedError: ('db', 5432)", None, "db", 5432),
    ],
)
def test_python_socket_address_tuples_are_endpoints(
    text: str, ip: str | None, host: str | None, port: int, kb: Knowledge
) -> None:
    [f] = [f for f in explain(text, kb).findings if f.kind == "endpoint"]
    assert f.text.startswith("('") and f.text.endswith(")")
    assert (f.address.ip if f.address else None, f.host, f.port.number if f.port else None) == (
        ip,
        host,
        port,
    )


@pytest.mark.parametrize("text", ["print(('a', 1))", "image ('postgres', 16)", "t = ('x', 7, 8, 9, 10)"])
def test_any_tuple_of_a_word_and_a_number_is_not_an_endpoint(text: str, kb: Knowledge) -> None:
    assert [f for f in explain(text, kb).findings if f.kind == "endpoint"] == []


@pytest.mark.parametrize(
    ("text", "ip", "host", "port"),
    [
        ("uvicorn main:app --host 0.0.0.0 --port 8000 --reload", "0.0.0.0", None, 8000),
        ("flask run --host=0.0.0.0 --port=5001", "0.0.0.0", None, 5001),
        ("npm run dev -- --host localhost --port 3001", None, "localhost", 3001),
    ],
)
def test_host_and_port_options_together_are_one_endpoint(
    text: str, ip: str | None, host: str | None, port: int, kb: Knowledge
) -> None:
    [f] = [f for f in explain(text, kb).findings if f.kind in ("endpoint", "address", "port")]
    assert f.kind == "endpoint" and f.text.startswith("--host")
    assert (f.address.ip if f.address else None, f.host, f.port.number if f.port else None) == (
        ip,
        host,
        port,
    )


def test_a_host_option_without_a_value_is_not_paired(kb: Knowledge) -> None:
    found = [(f.kind, f.text) for f in explain("vite --host --port 3000", kb).findings if f.kind != "term"]
    assert found == [("port", "3000")]


# -- the long tail of real pastes -------------------------------------------------------------------
# Each text below is quoted from a public issue thread (named beside it), cut to the lines that matter.


def errors_in(text: str, kb: Knowledge) -> list[tuple[str, str | None]]:
    return [(f.text, f.error) for f in explain(text, kb).findings if f.kind == "error"]


@params(
    # v3ucn/llama_index_examples_python3.10#1 (urllib3)
    Case(
        "after connection broken by 'ConnectTimeoutError(<urllib3.connection.HTTPSConnection object at "
        "0x000001C558043CA0>, 'Connection to api.openai.com timed out. (connect timeout=600)')'",
        "address",
        "api.openai.com",
        host="api.openai.com",
    ),
    # tminglei/slick-pg#632 (PostgreSQL's JDBC driver)
    Case(
        "org.postgresql.util.PSQLException: Connection to localhost:5432 refused. Check that the hostname "
        "and port are correct and that the postmaster is accepting TCP/IP connections.",
        "endpoint",
        "localhost:5432",
        host="localhost",
        port=5432,
    ),
    # Nuvalence/sqlserver2pgsql-docker#1
    Case(
        "SQL SCRIPT START - Connection to 127.0.0.1:5433 refused. Check that the hostname and port are",
        "endpoint",
        "127.0.0.1:5433",
        ip="127.0.0.1",
        port=5433,
    ),
)
def test_the_endpoint_in_a_connection_to_sentence_is_found(case: Case, kb: Knowledge) -> None:
    check(case, kb)


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("'Connection to api.openai.com timed out. (connect timeout=600)'", "ETIMEDOUT"),
        ("PSQLException: Connection to localhost:5432 refused. Check that the hostname", "ECONNREFUSED"),
        # emptysuns/Hi_Hysteria#211 (Go)
        ("[dst:1.1.1.1:53] [error:dial tcp 1.1.1.1:53: i/o timeout] TCP error", "ETIMEDOUT"),
        # MartialBE/one-hub#119 (Go, the DNS lookup itself timing out)
        (
            "dial tcp: lookup spark-api.xf-yun.com: i/o timeout (request id: 2024032110191353165130263)",
            "ETIMEDOUT",
        ),
        ("java.net.SocketTimeoutException: connect timed out", "ETIMEDOUT"),
        ("socket.timeout: timed out", "ETIMEDOUT"),
        ("Read timed out. (read timeout=10)", "ETIMEDOUT"),
        # appveyor/ci#1740 (curl on Windows)
        ("fatal: unable to access 'x': Failed to connect to github.com port 443: Timed out", "ETIMEDOUT"),
        ("Failed to connect to github.com port 443 after 21045 ms: Timed out", "ETIMEDOUT"),
    ],
)
def test_timeouts_and_refusals_said_in_words_are_errors(text: str, error: str, kb: Knowledge) -> None:
    assert error in [e for _, e in errors_in(text, kb)]


@pytest.mark.parametrize("text", ["the build timed out again", "my request to the team timed out lol"])
def test_a_timeout_in_chat_is_not_a_socket_error(text: str, kb: Knowledge) -> None:
    assert errors_in(text, kb) == []
    assert not explain(text, kb).triggered


@pytest.mark.parametrize(
    ("text", "host"),
    [
        # microsoft/WSL#4894
        ("ssh: Could not resolve hostname cs2.utdallas.edu: Name or service not known", "cs2.utdallas.edu"),
        # nlf/dhyve#15 (macOS)
        (
            "ssh: Could not resolve hostname dhyve.vm: nodename nor servname provided, or not known",
            "dhyve.vm",
        ),
        # mfat/sshpilot#483: a bare name
        ("ssh: Could not resolve hostname router: Name or service not known", "router"),
        # MartialBE/one-hub#119 (Go)
        ("relay error: dial tcp: lookup api.moonshot.cn: i/o timeout", "api.moonshot.cn"),
        # ginuerzh/gost#814 (Go: the name looked up was "http")
        ("dial tcp: lookup http: no such host", "http"),
        ("java.net.UnknownHostException: api.example.com: Name or service not known", "api.example.com"),
        ("ping: foo.lan: Name or service not known", "foo.lan"),
        (
            "NameResolutionError(\"...: Failed to resolve 'api.openai.com' ([Errno -3] Temporary failure in "
            'name resolution)")',
            "api.openai.com",
        ),
    ],
)
def test_the_host_that_failed_to_resolve_is_a_finding(text: str, host: str, kb: Knowledge) -> None:
    exp = explain(text, kb)
    assert host in [f.host for f in exp.findings if f.kind == "address"]
    assert {"ENOTFOUND", "EAI_AGAIN", "ETIMEDOUT"} & {f.error for f in exp.findings if f.kind == "error"}


@pytest.mark.parametrize(
    "text",
    [
        "getaddrinfo: nodename nor servname provided, or not known (SocketError)",
        "socket.gaierror: [Errno -2] Name or service not known",
        "lookup failed: please retry",
    ],
)
def test_a_resolver_message_without_a_host_names_none(text: str, kb: Knowledge) -> None:
    assert [f.text for f in explain(text, kb).findings if f.kind == "address"] == []


@pytest.mark.parametrize(
    ("text", "pairs"),
    [
        # nberlee/bonjour-reflector#53 (gopacket's dump: each address with the port of its side)
        (
            "IPv4t{Version=4 TTL=255 Protocol=UDP SrcIP=192.168.40.90 DstIP=192.168.40.5 Options=[]}\n"
            " UDPt{Contents=[..8..] SrcPort=5353(mdns) DstPort=41655 Length=1078}",
            [("192.168.40.90", 5353), ("192.168.40.5", 41655)],
        ),
        ("host: Some(Ipv4(10.20.30.40)), port: Some(8443)", [("10.20.30.40", 8443)]),
        ("DB_HOST=db\nDB_PORT=5432\nREDIS_HOST=cache\nREDIS_PORT=6379", [("db", 5432), ("cache", 6379)]),
        ('{"host": "10.0.0.7", "user": "app", "port": 5432}', [("10.0.0.7", 5432)]),
    ],
)
def test_a_host_and_its_port_in_separate_fields_are_one_endpoint(
    text: str, pairs: list[tuple[str, int]], kb: Knowledge
) -> None:
    found = [
        ((f.address.ip if f.address and f.address.ip else f.host), f.port.number if f.port else None)
        for f in explain(text, kb).findings
        if f.kind == "endpoint"
    ]
    assert found == pairs
    # the port's own field is not a second finding
    assert [f.text for f in explain(text, kb).findings if f.kind == "port"] == []


def test_fields_of_different_sides_do_not_pair(kb: Knowledge) -> None:
    found = explain("SrcIP=10.0.0.1 DstPort=443", kb).findings
    assert [(f.kind, f.text) for f in found if f.kind != "term"] == [("address", "10.0.0.1"), ("port", "443")]


@params(
    # the-tcpdump-group/tcpdump#391
    Case(
        "08:36:43.100723 IP 64.164.127.51.52846 > 192.168.0.10.80: Flags [S.], seq 0:188, win 8192",
        "endpoint",
        "64.164.127.51.52846",
        ip="64.164.127.51",
        port=52846,
    ),
    Case(
        "08:36:43.100723 IP 64.164.127.51.52846 > 192.168.0.10.80: Flags [S.], seq 0:188, win 8192",
        "endpoint",
        "192.168.0.10.80",
        ip="192.168.0.10",
        port=80,
        category="private",
    ),
    # mozillazg/ptcpdump#313 (a verbose line: no "IP" before the source)
    Case("    10.0.2.15.1373 > 1.1.1.1.80: Flags [S], cksum 0xbfb4", "endpoint", "10.0.2.15.1373", port=1373),
    # mozillazg/ptcpdump#159
    Case(
        "19:03:36.220872 IP6 dead:beef:2::2.35288 > dead:beef:2::1.10029: Flags [.], seq 731670714",
        "endpoint",
        "dead:beef:2::1.10029",
        ip="dead:beef:2::1",
        port=10029,
    ),
)
def test_tcpdump_addresses_carry_their_port_after_a_dot(case: Case, kb: Knowledge) -> None:
    check(case, kb)


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("No connection could be made (0x274D)", "ECONNREFUSED"),
        ("bind failed: 0x2740", "EADDRINUSE"),
        ("HRESULT 0x8007274D", "ECONNREFUSED"),
        ("error 0x0000274C", "ETIMEDOUT"),
        # EnterpriseDB/edb-installers#563
        (
            'connection to server at "localhost" (::1), port 5432 failed: '
            "Connection refused (0x0000274D/10061)",
            "ECONNREFUSED",
        ),
    ],
)
def test_winsock_codes_in_hex_and_hresult_form_are_errors(text: str, error: str, kb: Knowledge) -> None:
    assert error in [e for _, e in errors_in(text, kb)]


@pytest.mark.parametrize("text", ["color 0xFF00FF", "flags 0x0002", "cksum 0xbfb4", "0x80004005"])
def test_other_hex_numbers_are_not_winsock_codes(text: str, kb: Knowledge) -> None:
    assert errors_in(text, kb) == []


@pytest.mark.parametrize(
    "text",
    [
        '[assembly: AssemblyVersion("2.0.0.0")]',
        "System.Runtime, Version=4.0.0.0, Culture=neutral, PublicKeyToken=b03f5f7f11d50a3a",
        '<PackageReference Include="Foo" Version="1.2.3.4" />',
        "v1.2.3.4 is out",
        "| Package | Version |\n|---|---|\n| Foo.Core | 3.2.1.0 |\n| Foo.Web | 1.0.0.1 |",
        "build 1.0.0.0",
        # BHoM/BHoM#1130: the version word a dozen words before, and the shape of a version
        "The `AssemblyFileVersion` attribute should now be updated to read `4.1.0.0` for all files",
        # QT-DevOps/DevOpsIssues#788
        "Could not load file or assembly ‘System.Web,Version=4.0.0.0, Culture=neutral’",
    ],
)
def test_four_part_versions_are_not_addresses(text: str, kb: Knowledge) -> None:
    exp = explain(text, kb)
    assert [f.text for f in exp.findings if f.kind in ADDRESS_LIKE] == []
    assert not exp.triggered


@pytest.mark.parametrize(
    ("text", "ips"),
    [
        ("use 1.0.0.1 or 4.2.2.2 as your resolver", ["1.0.0.1", "4.2.2.2"]),
        ("| Host | Address |\n|---|---|\n| dns | 1.0.0.1 |", ["1.0.0.1"]),
        ("the server moved to version 2 and now lives at 10.0.0.5", ["10.0.0.5"]),
        ("since version 3 it binds 0.0.0.0 and routes 10.0.0.0", ["0.0.0.0", "10.0.0.0"]),
    ],
)
def test_addresses_near_no_version_context_stay_addresses(text: str, ips: list[str], kb: Knowledge) -> None:
    assert [f.address.ip for f in explain(text, kb).findings if f.address and f.address.ip] == ips


@params(
    Case("connect to 10.0.0.0.5:8080 fails", "endpoint", "10.0.0.0.5:8080", category="invalid", port=8080),
    Case("ping 192.168.1.1.1", "address", "192.168.1.1.1", category="invalid"),
)
def test_five_dotted_numbers_with_an_address_context_are_called_invalid(case: Case, kb: Knowledge) -> None:
    f = check(case, kb)
    assert f.address is not None and f.address.reason and "five" in f.address.reason


@pytest.mark.parametrize("text", ["snmpget 1.3.6.1.2.1", "release 2.4.0.0.1 notes"])
def test_five_dotted_numbers_without_one_are_left_alone(text: str, kb: Knowledge) -> None:
    assert [f for f in explain(text, kb).findings if f.kind in ADDRESS_LIKE] == []


@pytest.mark.parametrize(
    ("text", "port", "endpoint"),
    [
        ("ssh -L8443:10.9.8.7:443 user@bastion", 8443, ("10.9.8.7:443", 443)),
        # JuliaLang/IJulia.jl#586
        ("ssh -L 8888:localhost:8888 HOST", 8888, ("localhost:8888", 8888)),
        ("ssh -N -R 8080:localhost:3000 serveo.net", 8080, ("localhost:3000", 3000)),
        ("ssh -D 1080 -C -N user@host", 1080, None),
    ],
)
def test_ssh_forwards_name_the_forwarded_port_and_what_it_reaches(
    text: str, port: int, endpoint: tuple[str, int] | None, kb: Knowledge
) -> None:
    found = explain(text, kb).findings
    assert [f.port.number for f in found if f.kind == "port" and f.port] == [port]
    reached = [(f.text, f.port.number) for f in found if f.kind == "endpoint" and f.port]
    assert reached == ([endpoint] if endpoint else [])


@params(
    Case(
        "http://(a1b2c3d4e5f6 or 127.0.0.1):8890/?token=abc",
        "url",
        ip="127.0.0.1",
        port=8890,
        category="loopback",
    ),
    Case("Ready to accept connections at -redis://0.0.0.0:6380/", "url", "redis://0.0.0.0:6380/", port=6380),
    Case("then open :7777 in the browser", "port", "7777", port=7777),
    Case("`:443`", "port", "443", port=443),
)
def test_urls_and_ports_in_odd_places(case: Case, kb: Knowledge) -> None:
    check(case, kb)


@pytest.mark.parametrize("text", ["see you at 10 :30", "John 3:16", "lol :3", "::"])
def test_colon_numbers_that_are_no_ports(text: str, kb: Knowledge) -> None:
    assert [f.text for f in explain(text, kb).findings if f.kind == "port"] == []


@pytest.mark.parametrize(
    ("text", "ip", "port"),
    [
        # fe80::/10 outside fe80::/64 reads only as a link-local address with a port
        ("peer fe80::2631:aee8:74dd:378d:5661 joined", "fe80::2631:aee8:74dd:378d", 5661),
        # nine groups cannot be one address
        ("from 2001:db8:0:0:0:0:0:1:8080", "2001:db8:0:0:0:0:0:1", 8080),
    ],
)
def test_an_unbracketed_ipv6_with_a_port_is_split_when_only_that_reading_holds(
    text: str, ip: str, port: int, kb: Knowledge
) -> None:
    [f] = [f for f in explain(text, kb).findings if f.kind == "endpoint"]
    assert f.address is not None and (f.address.ip, f.port.number if f.port else None) == (ip, port)
    assert f.ambiguity is None


def test_an_unbracketed_ipv6_that_reads_both_ways_is_called_ambiguous(kb: Knowledge) -> None:
    [f] = [f for f in explain("listening on port 2001:db8::1:8080", kb).findings if f.kind == "address"]
    assert f.address is not None and f.address.ip == "2001:db8::1:8080"  # not guessed
    assert f.ambiguity and "[2001:db8::1]:8080" in f.ambiguity
    assert f.to_json()["ambiguity"] == f.ambiguity


@pytest.mark.parametrize("text", ["2001:4860:4860::8888", "dns is 2001:4860:4860::8844 today"])
def test_an_ipv6_address_without_port_context_is_just_an_address(text: str, kb: Knowledge) -> None:
    [f] = [f for f in explain(text, kb).findings if f.kind == "address"]
    assert f.ambiguity is None and "ambiguity" not in f.to_json()


# -- the long tail's forms over any input ----------------------------------------------------------

LONG_TAIL_PIECES = st.sampled_from(
    [
        "Connection to ", " refused", " timed out", "localhost", ":5432", "api.example.com", "10.0.0.5",
        "host: ", "port: ", "Some(Ipv4(", "Some(", "))", ", ", "SrcIP=", "SrcPort=", "DB_HOST=", "DB_PORT=",
        " > ", ".443", ": ", "IP ", "IP6 ", "fe80::1", "::", ".", "0x274D", "0x8007274D", "ssh -L", "-R ",
        "-D ", "8080", ":", "lookup ", "no such host", "Could not resolve hostname ", "http://(", " or ",
        "):", "|", " Version |", "\n", "v", "1.2.3.4", "1.2.3.4.5", "-redis://", "`", " ", "\t", "é",
        "x", "_", "3", "A conexão com h foi recusada", "ssh -D 1080", "_localhost", "xlookup db on x",
        "MySQL server on 'db' (61)", "telnet h 23", '("db", 5432)', "LOCALHOſT", "bind failed. (98)",
    ]
)  # fmt: skip


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=st.lists(LONG_TAIL_PIECES, max_size=40).map("".join))
def test_the_long_tail_forms_give_exact_spans_on_any_mixture(text: str, kb: Knowledge) -> None:
    assert_well_formed(text, explain(text, kb))
    if not may_contain_findings(text, kb):
        assert explain(text, kb).findings == ()


LONG_TAIL_ADVERSARIAL = {
    "connection to": "Connection to a",
    "field pairs": "host: a port: 1 ",
    "sided fields": "SrcIP=1.2.3.4 DstIP=1.2.3.4 SrcPort=1 ",
    "rust fields": "host: Some(Ipv4(1.2.3.4)), port: Some(",
    "tcpdump": "1.2.3.4.5 > ",
    "five parts": "ip 1.2.3.4.5:",
    "ssh forwards": "ssh -L1:a:1 -D ",
    "version table": "| version |\n| 1.2.3.4 |\n",
    "one-line table": "| 1.2.3.4 ",
    "lookups": "lookup a: ",
    "jupyter": "http://(a or ",
    "hex codes": "0x274D ",
    "ipv6 ports": "port fe80::1:80 ",
    "resolver": "a.b: Name or service not known ",
    "bare ports": " :80",
}


def _cpu_seconds(text: str, kb: Knowledge) -> float:
    """The least CPU time of five runs of `find` (this process only: other load on the machine does not
    count)."""
    best = float("inf")
    for _ in range(5):
        started = time.process_time()
        find(text, kb)
        best = min(best, time.process_time() - started)
    return best


@pytest.mark.parametrize("unit", list(LONG_TAIL_ADVERSARIAL.values()), ids=list(LONG_TAIL_ADVERSARIAL))
def test_the_long_tail_forms_take_time_in_proportion_to_the_text(unit: str, kb: Knowledge) -> None:
    # Ten times the text must cost well under a hundred times as long (linear, not quadratic): a ratio
    # in the same run, so a slow or busy machine does not fail it.
    small = (unit * (2_000 // len(unit) + 1))[:2_000]
    large = (unit * (20_000 // len(unit) + 1))[:20_000]
    assert_well_formed(large, explain(large, kb))
    ratio = _cpu_seconds(large, kb) / max(_cpu_seconds(small, kb), 1e-4)
    assert ratio < 30, f"{ratio:.1f}x for 10x the text"


# -- localised messages (glibc's strerror/gai_strerror translations, Chromium's error page strings) ----


@pytest.mark.parametrize(
    ("text", "error"),
    [
        # glibc po/ru.po, po/de.po, po/es.po, po/fr.po, po/ja.po, po/pt_BR.po: strerror(ECONNREFUSED)
        ("ConnectionRefusedError: [Errno 111] В соединении отказано", "ECONNREFUSED"),
        ("curl: Failed to connect to localhost port 8080: Verbindungsaufbau abgelehnt", "ECONNREFUSED"),
        ("psycopg2.OperationalError: could not connect to server: Conexión rehusada", "ECONNREFUSED"),
        ("java.net.ConnectException: Connexion refusée", "ECONNREFUSED"),
        ("接続を拒否されました", "ECONNREFUSED"),
        ("Conexão recusada", "ECONNREFUSED"),
        # Chromium's refused-to-connect page (components_strings_*.xtb, message 6433595998831338502)
        ("127.0.0.1 拒绝了我们的连接请求。", "ECONNREFUSED"),
        ("La página localhost ha rechazado la conexión.", "ECONNREFUSED"),
        ("localhost hat die Verbindung abgelehnt.", "ECONNREFUSED"),
        ("localhost n'autorise pas la connexion.", "ECONNREFUSED"),
        ("Сайт localhost не позволяет установить соединение.", "ECONNREFUSED"),
        ("localhost で接続が拒否されました。", "ECONNREFUSED"),
        ("A conexão com localhost foi recusada.", "ECONNREFUSED"),
        # the other glibc strings
        ("OSError: [Errno 98] Адрес уже используется", "EADDRINUSE"),
        ("bind: Adresse déjà utilisée", "EADDRINUSE"),
        ("TimeoutError: [Errno 110] Время ожидания соединения истекло", "ETIMEDOUT"),
        ("socket.gaierror: [Errno -3] Временный сбой в разрешении имен", "EAI_AGAIN"),
        ("域名解析出现暂时性错误", "EAI_AGAIN"),
        ("getaddrinfo: Nombre o servicio desconocido", "ENOTFOUND"),
    ],
)
def test_a_localised_error_message_is_its_error_and_triggers(text: str, error: str, kb: Knowledge) -> None:
    exp = explain(text, kb)
    assert error in [f.error for f in exp.findings if f.kind == "error"]
    assert exp.triggered
    assert explain(text, kb, passive=True).findings == exp.findings


@pytest.mark.parametrize("text", ["Привет, как дела?", "今天天气很好", "Je refuse de connaître la réponse"])
def test_ordinary_chat_in_other_languages_finds_no_error(text: str, kb: Knowledge) -> None:
    assert [f for f in explain(text, kb).findings if f.kind == "error"] == []


@pytest.mark.parametrize(
    "text", ["go to http://localhost:3000/.", "redis://db.", "x -redis://.", "(ws://[::1]:9229)."]
)
def test_a_url_ending_a_sentence_has_its_span_cut_with_its_text(text: str, kb: Knowledge) -> None:
    exp = explain(text, kb)
    assert_well_formed(text, exp)
    assert all(not f.text.endswith((".", ")")) for f in exp.findings if f.kind == "url")


@pytest.mark.parametrize(
    "text",
    [
        "    at foo (server.js:12)",
        "main.go:42: listen tcp :8080: bind: address already in use",
        "app.py:7: DeprecationWarning",
        "./src/index.ts:120:5 - error TS2304",
    ],
)
def test_a_source_file_and_its_line_is_not_an_endpoint(text: str, kb: Knowledge) -> None:
    assert [f.text for f in explain(text, kb).findings if f.kind == "endpoint"] == []


@pytest.mark.parametrize("text", ["api.example.rs:8443", "cache.example.sh:6379"])
def test_a_host_under_a_tld_named_like_an_extension_stays_an_endpoint(text: str, kb: Knowledge) -> None:
    assert [f.text for f in explain(text, kb).findings if f.kind == "endpoint"] == [text]


@pytest.mark.parametrize(
    ("text", "ip", "port"),
    [
        # socketio/socket.io-client-java#307 (Android, no host name)
        (
            "java.net.SocketTimeoutException: failed to connect to /52.30.76.101 (port 9292) after 90000ms",
            "52.30.76.101",
            9292,
        ),
        # ossrs/srs#632 (no space before the bracket)
        ("failed to connect to ossars.net/182.92.80.26(port 1935) after 3000ms", "182.92.80.26", 1935),
    ],
)
def test_androids_address_and_port_in_brackets_are_one_endpoint(
    text: str, ip: str, port: int, kb: Knowledge
) -> None:
    [f] = [f for f in explain(text, kb).findings if f.kind == "endpoint"]
    assert f.address is not None and f.port is not None and (f.address.ip, f.port.number) == (ip, port)


@pytest.mark.parametrize(
    ("text", "endpoints"),
    [
        # mikeizbicki/cmc-csci143#258
        (
            "$ ssh username@134.173.191.241 -p 5055 -L 8080:localhost:5000",
            [("134.173.191.241", 5055), ("localhost:5000", 5000)],
        ),
        # mscdex/ssh2#580: a bind address before the forwarded port
        (
            "$ ssh  -N  -L  127.0.0.1:3306:DATABASE_HOST:3306  SSH_USER@SSH_HOST  -p  22",
            [("127.0.0.1:3306", 3306), ("DATABASE_HOST:3306", 3306), ("SSH_HOST", 22)],
        ),
        ("ssh -p 2222 git@github.com", [("github.com", 2222)]),
    ],
)
def test_ssh_names_its_server_with_the_port_of_its_p_option(
    text: str, endpoints: list[tuple[str, int]], kb: Knowledge
) -> None:
    found = explain(text, kb).findings
    assert [(f.text, f.port.number) for f in found if f.kind == "endpoint" and f.port] == endpoints
    assert [f.text for f in found if f.kind == "port"] == (["8080"] if "8080" in text else [])


@pytest.mark.parametrize(
    ("text", "host", "port"),
    [
        # jookies/jasmin#435
        ("while i am running : `telnet 127.0.0.1 8990`", "127.0.0.1", 8990),
        ("nc -vz dbhost 5432", "dbhost", 5432),
        # js2854/python-rtsp-client#4
        (
            ' _sock.connect(("127.0.0.1", 554)) ConnectionRefusedError: [Errno 111] Connection refused',
            "127.0.0.1",
            554,
        ),
    ],
)
def test_a_host_and_port_given_to_a_tool_or_a_call_are_one_endpoint(
    text: str, host: str, port: int, kb: Knowledge
) -> None:
    assert may_contain_findings(text, kb)
    [f] = [f for f in explain(text, kb).findings if f.kind == "endpoint"]
    assert ((f.address.ip if f.address and f.address.ip else f.host), f.port.number if f.port else None) == (
        host,
        port,
    )


@pytest.mark.parametrize(
    ("text", "endpoint"),
    [
        # monero-project/monero#7966: an option's value after a space, paired by the options' shared prefix
        (
            "./monerod --testnet --rpc-bind-ip 0.0.0.0 --rpc-bind-port 28081 --confirm-external-bind",
            ("0.0.0.0", 28081),
        ),
        # PathwayCommons/semantic-search#128: the two options on separate lines
        ("- `--host 0.0.0.0` (otherwise loopback only)\n- `--port 8000` (default anyway)", ("0.0.0.0", 8000)),
        # XX-net/XX-Net#11817: :: glued to a word by its colon, and ::0 with a port (::/96 holds no hosts)
        ("[smart_router][INFO] Proxy server listen::::8086.", ("::", 8086)),
        ("[smart_router][INFO] server ::0:8086 started.", ("::0", 8086)),
    ],
)
def test_options_glued_ipv6_and_deprecated_ipv6_blocks_give_the_endpoint(
    text: str, endpoint: tuple[str, int], kb: Knowledge
) -> None:
    found = [
        (f.address.ip, f.port.number)
        for f in explain(text, kb).findings
        if f.kind == "endpoint" and f.address and f.port
    ]
    assert found == [endpoint]


@pytest.mark.parametrize("text", ["my ip 10.0.0.1 and port 80", "host myhost port 22 is what I use"])
def test_prose_with_ip_and_port_words_pairs_nothing(text: str, kb: Knowledge) -> None:
    assert [f for f in explain(text, kb).findings if f.kind == "endpoint"] == []


def test_a_long_option_ending_in_port_is_a_port(kb: Knowledge) -> None:
    found = explain("java -jar app.jar --server.port=8081 --spring.profiles.active=dev", kb).findings
    assert [f.port.number for f in found if f.kind == "port" and f.port] == [8081]


@pytest.mark.parametrize(
    "text",
    [
        # codeplea/Hands-On-Network-Programming-with-C#6
        "bind() failed. (98)",
        # khuedoan/homelab#43 (musl's wording, with the errno nginx puts before it)
        "nginx: [emerg] bind() to [::]:80 failed (98: Address in use)",
    ],
)
def test_an_errno_in_brackets_after_failed_is_its_error(text: str, kb: Knowledge) -> None:
    assert may_contain_findings(text, kb)
    assert "EADDRINUSE" in [e for _, e in errors_in(text, kb)]


@pytest.mark.parametrize(
    ("text", "endpoint", "error"),
    [
        # bashu/django-watermark#24 (mysql's -P is the port, its -p the password)
        (
            "$mysql -u root -p -h 127.0.0.1 -P 3306\n"
            "ERROR 2003 (HY000): Can't connect to MySQL server on '127.0.0.1' (61)",
            ("127.0.0.1", 3306),
            "ECONNREFUSED",
        ),
        # redis/redis#457
        ("redis-cli -p 6379 -h 127.0.0.1", ("127.0.0.1", 6379), None),
        # mysql/mysql-shell-plugins#58
        ("[MySQL server host 'localhost'(11001)]", None, "ENOTFOUND"),
    ],
)
def test_database_clients_name_host_port_and_socket_error(
    text: str, endpoint: tuple[str, int] | None, error: str | None, kb: Knowledge
) -> None:
    found = explain(text, kb).findings
    endpoints = [
        (f.address.ip, f.port.number) for f in found if f.kind == "endpoint" and f.address and f.port
    ]
    assert endpoints == ([endpoint] if endpoint else [])
    if error:
        assert error in [f.error for f in found if f.kind == "error"]


def test_mysql_names_the_host_it_could_not_reach(kb: Knowledge) -> None:
    text = "Can't connect to MySQL server on 'db'"
    assert may_contain_findings(text, kb)
    assert [f.host for f in explain(text, kb).findings if f.kind == "address"] == ["db"]


def test_an_ipv4_mapped_address_with_a_port_is_one_endpoint(kb: Knowledge) -> None:
    # breakwa11/shadowsocks-rss#293
    text = "ERROR    tcprelay.py:813 when connect to 136.66.193.131:2738 from ::ffff:121.12.41.156:59300"
    found = [(f.text, f.port.number) for f in explain(text, kb).findings if f.kind == "endpoint" and f.port]
    assert found == [("136.66.193.131:2738", 2738), ("::ffff:121.12.41.156:59300", 59300)]


@pytest.mark.parametrize(
    "text",
    [
        '("db", 5432)',
        "('db', 5432)",
        "No connection could be made (0x274D)",
        "Can't connect to MySQL server on 'db' (61)",
        "[MySQL server host 'localhost'(11001)]",
        "bind failed. (98)",
        "telnet dbhost 23",
        "ssh -p 2222 git@github",
        "Connection to db refused",
        "Could not resolve hostname router",
    ],
)
def test_the_prefilter_lets_every_long_tail_form_through(text: str, kb: Knowledge) -> None:
    assert explain(text, kb).findings, text  # each is something to explain
    assert may_contain_findings(text, kb)

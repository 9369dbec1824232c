"""What the core recognises in a message, each with its exact span, and what it must leave alone.

Every positive case names the fragment of the text that must come out as one finding: the finding's
span must be exactly where that fragment is, and its text exactly that fragment.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pytest

from bot.core import explain
from bot.core.knowledge import Knowledge
from bot.core.model import Explanation, Finding

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

"""Properties of the core over any input: no exception, exact spans, bounded time, and address
classification that agrees with the IANA special-purpose registries row for row.

The registry table is `tests/data/special-purpose-registry.csv` (a copy of the shared reference data):
which prefixes exist comes from it; which category each maps to comes from `knowledge/addresses.yaml`.
"""

from __future__ import annotations

import csv
import ipaddress
import time
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from bot.core import classify_address, explain, find, may_contain_findings
from bot.core.knowledge import Knowledge
from bot.core.model import Explanation
from bot.kb import knowledge_dir, load_knowledge

REGISTRY_CSV = Path(__file__).resolve().parent.parent / "data" / "special-purpose-registry.csv"
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

PROPERTY = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


# -- any text --------------------------------------------------------------------------------------


def assert_well_formed(query: str, exp: Explanation) -> None:
    """An Explanation with exact spans: each finding's text is the slice of the query it spans."""
    assert isinstance(exp, Explanation)
    assert exp.query == query
    assert exp.answer.title and exp.answer.summary
    assert exp.triggered in (True, False)
    for f in exp.findings:
        start, end = f.span
        assert 0 <= start < end <= len(query)
        written = query[start:end]
        if f.kind == "url" and "@" in written:
            assert "***@" in f.text  # credentials are masked, so this text differs from the slice
            continue
        assert f.text == written, (f.kind, f.text, f.span)
    positions = [f.span for f in exp.findings]
    assert positions == sorted(positions)
    exp.to_json()  # and it serialises


PIECES = st.sampled_from(
    [
        "127.0.0.1", ":62893", "::1", ":::", "[", "]", "::ffff:", "1.", "256.", "/", "/24", "%eth0",
        "http://", "postgres://u:p@", "@", "localhost", ":3000", "port ", "PORT=", "-p ", "8080:80",
        "ECONNREFUSED", "[Errno 111]", "[WinError 10061]", "curl: (7)", "端口", "ephemeral port",
        " ", "\n", "\t", "é", "\x00", "\u200b", "İ", "ß", "v", "0", "9", ".", ":", "a::", "fe80",
        "DevTools listening on ", "connect ", "address already in use", "Connection refused",
        "--dport ", "-LocalPort ", "SrcPort=", "/tcp", "/UDP", "EXPOSE ", ".listen(", "http.server ", "-",
        "('", "db", "', ", "8000)", ", 0, 0)", "--host ", "--host=", " --port ", "--port=",
    ]
)  # fmt: skip


@PROPERTY
@given(text=st.text())
@example(text="")
@example(text="İstanbul localhost:3000 ECONNREFUSED")  # lower() changes the length
@example(text="postgres://bob:hunter2@db:5432/x")
def test_any_text_gives_an_explanation_with_exact_spans(text: str, kb: Knowledge) -> None:
    assert_well_formed(text, explain(text, kb))


@PROPERTY
@given(text=st.binary(max_size=2000).map(lambda b: b.decode("latin-1")))
def test_binary_ish_text_gives_an_explanation(text: str, kb: Knowledge) -> None:
    assert_well_formed(text, explain(text, kb))


@PROPERTY
@given(text=st.lists(PIECES, max_size=60).map("".join))
def test_mixtures_of_networking_fragments_give_exact_spans(text: str, kb: Knowledge) -> None:
    assert_well_formed(text, explain(text, kb))
    assert_well_formed(text, explain(text, kb, passive=True))


@PROPERTY
@given(text=st.lists(PIECES, max_size=60).map("".join))
def test_passive_mode_only_skips_texts_with_no_findings(text: str, kb: Knowledge) -> None:
    passive = explain(text, kb, passive=True)
    if passive.findings:
        assert passive.findings == explain(text, kb).findings


# The prefilter may let chatter through, but must never rule out a text with findings: the scan and
# the watching bot would silently miss it.
_KB_PHRASES = sorted(
    {*load_knowledge().aliases, *load_knowledge().error_messages, *load_knowledge().error_symbols}
)
PREFILTER_PIECES = st.sampled_from(
    [
        "-p ", "--publish ", "listening on ", "ssh ", "https ", "dns ", "(10061)", "error", "Errno ",
        "code ", "os error ", "lookup ", " on ", "getaddrinfo ", "could not translate host name ",
        "node.js", "so_reuseaddr", "WSA", "localhost", "LOCALHOST", "3", "22", "8080", "10061", ".", "..",
        " ", "-", "_", "@", "(", ")", "'", '"', "\n", "=", ",", "ſ", "\u212a", "İ", "ı", "٣", "１", "端口",
    ]
)  # fmt: skip
PREFILTER_TEXT = st.lists(
    PIECES | PREFILTER_PIECES | st.sampled_from(_KB_PHRASES) | st.text(max_size=3), max_size=25
).map("".join)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=PREFILTER_TEXT)
@example(text="ssh 22")
@example(text="run it with -p 3000")
@example(text="WSAECONNREFUSED (10061)")
@example(text="errorcode 10061")
@example(text="@socket")
@example(text="LOCALHOſT")
def test_the_prefilter_never_rules_out_a_text_with_findings(text: str, kb: Knowledge) -> None:
    if not may_contain_findings(text, kb):
        assert find(text, kb) == []


@pytest.mark.parametrize(
    "text", ["lol yeah that's what I thought", "the meeting moved to 3pm", "version 2 is so much faster"]
)
def test_the_prefilter_rules_out_ordinary_chatter(text: str, kb: Knowledge) -> None:
    assert not may_contain_findings(text, kb)


ADVERSARIAL = {
    "dots": "1." * 10_000,
    "colons": ":" * 20_000,
    "brackets": "[" * 20_000,
    "cpp paths": "a::" * 6_700,
    "url schemes": "http://" * 2_900,
    "digits": "9" * 20_000,
    "hex groups": "ffff:" * 4_000,
    "dotted quads": "1.2.3.4." * 2_500,
    "ports": "port " * 4_000,
    "many addresses": "1.2.3.4 " * 2_500,
    "many ports": "port 80 " * 2_500,
    "many endpoint lines": "10.0.0.1:8080\n" * 1_400,
    "many urls": "http://localhost:3000/ " * 900,
    "at signs": "postgres://a@" * 1_500,
    "mixed": ("1.:[a::http://" * 1_500)[:20_000],
    "spaces": " " * 20_000,
    "words": "localhost " * 2_000,
    "errors": "ECONNREFUSED " * 1_500,
}


@pytest.mark.parametrize("text", list(ADVERSARIAL.values()), ids=list(ADVERSARIAL))
def test_adversarial_20kb_input_finishes_quickly(text: str, kb: Knowledge) -> None:
    # A blow-up guard (catastrophic backtracking, quadratic span checks), not a benchmark.
    assert len(text) >= 19_000
    started = time.perf_counter()
    exp = explain(text, kb)
    elapsed = time.perf_counter() - started
    assert elapsed < 2.0, f"{elapsed:.2f}s"
    assert_well_formed(text, exp)


@pytest.mark.parametrize(
    "text", ["1." * 5000, ":" * 10000, "[" * 5000, "a::" * 3000, "http://" * 2000], ids=repr
)
def test_the_briefs_adversarial_strings_give_an_answer(text: str, kb: Knowledge) -> None:
    assert_well_formed(text, explain(text, kb))


# -- the registry table ----------------------------------------------------------------------------


def registry_rows() -> list[dict[str, str]]:
    with REGISTRY_CSV.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def yaml_categories() -> dict[IPNetwork, str]:
    raw: list[dict[str, Any]] = yaml.safe_load((knowledge_dir() / "addresses.yaml").read_text("utf-8"))
    return {ipaddress.ip_network(item["prefix"]): str(item["category"]) for item in raw}


ROWS = registry_rows()
CSV_PREFIXES: list[IPNetwork] = [ipaddress.ip_network(r["prefix"]) for r in ROWS]
CATEGORY = yaml_categories()


def expected_category(ip: IPAddress) -> str:
    """Longest-prefix match over the CSV's rows, each mapped to its category by addresses.yaml."""
    holding = [n for n in CSV_PREFIXES if n.version == ip.version and ip in n]
    if not holding:
        # Outside every row: ordinary IPv4 unicast; for IPv6, space outside 2000::/3 and the listed
        # special blocks is unassigned (the knowledge base lists 2000::/3 itself as public).
        return "public" if ip.version == 4 else "reserved"
    return CATEGORY[max(holding, key=lambda n: n.prefixlen)]


def test_the_csv_copy_is_the_full_registry_table() -> None:
    assert len(ROWS) == 56
    assert {r["family"] for r in ROWS} == {"ipv4", "ipv6"}
    assert len(set(CSV_PREFIXES)) == len(CSV_PREFIXES)


def test_addresses_yaml_lists_exactly_the_csv_prefixes() -> None:
    assert set(CATEGORY) == set(CSV_PREFIXES)
    assert len(CATEGORY) == len(CSV_PREFIXES)


def test_the_loaded_blocks_are_exactly_the_csv_prefixes(kb: Knowledge) -> None:
    assert sorted(map(str, (b.network for b in kb.blocks))) == sorted(map(str, CSV_PREFIXES))


def test_in_registry_flags_agree_with_the_csv(kb: Knowledge) -> None:
    in_csv = {ipaddress.ip_network(r["prefix"]): r["in_special_registry"] == "True" for r in ROWS}
    for block in kb.blocks:
        assert block.in_registry is in_csv[block.network], block.network


@pytest.mark.parametrize("row", ROWS, ids=[r["prefix"] for r in ROWS])
def test_each_rows_sample_address_gets_its_most_specific_category(row: dict[str, str], kb: Knowledge) -> None:
    ip = ipaddress.ip_address(row["sample_address"])
    info = classify_address(row["sample_address"], kb)
    assert info.category == expected_category(ip)
    assert info.version == ip.version
    assert info.block is not None and ipaddress.ip_address(row["sample_address"]) in ipaddress.ip_network(
        info.block
    )


@pytest.mark.parametrize("row", ROWS, ids=[r["prefix"] for r in ROWS])
def test_the_first_and_last_address_of_each_row_classify_by_the_table(
    row: dict[str, str], kb: Knowledge
) -> None:
    net = ipaddress.ip_network(row["prefix"])
    for ip in (net.network_address, net.broadcast_address):
        assert classify_address(str(ip), kb).category == expected_category(ip), ip


def inside_a_row() -> st.SearchStrategy[IPAddress]:
    """A random address inside a random registry row (uniform hits on small blocks need help)."""

    def pick(net: IPNetwork) -> st.SearchStrategy[IPAddress]:
        return st.integers(0, net.num_addresses - 1).map(lambda i: net.network_address + i)

    return st.sampled_from(CSV_PREFIXES).flatmap(pick)


@PROPERTY
@given(ip=st.ip_addresses())
@example(ip=ipaddress.ip_address("127.0.0.1"))
@example(ip=ipaddress.ip_address("100.63.255.255"))
@example(ip=ipaddress.ip_address("100.128.0.0"))
@example(ip=ipaddress.ip_address("192.0.0.9"))
@example(ip=ipaddress.ip_address("::ffff:127.0.0.1"))
@example(ip=ipaddress.ip_address("2001:0:ffff::1"))
@example(ip=ipaddress.ip_address("4000::1"))
def test_every_address_is_classified_as_the_registry_table_says(ip: IPAddress, kb: Knowledge) -> None:
    assert classify_address(str(ip), kb).category == expected_category(ip)


@PROPERTY
@given(ip=inside_a_row())
def test_every_address_inside_a_row_is_classified_as_the_table_says(ip: IPAddress, kb: Knowledge) -> None:
    info = classify_address(str(ip), kb)
    assert info.category == expected_category(ip)
    assert info.ip is not None and ipaddress.ip_address(info.ip) == ip


@PROPERTY
@given(ip=st.ip_addresses(v=4))
def test_an_ipv4_address_in_text_is_found_and_classified_by_the_table(
    ip: ipaddress.IPv4Address, kb: Knowledge
) -> None:
    text = f"can't reach {ip} from here"
    [f] = explain(text, kb).findings
    assert f.kind == "address" and f.text == str(ip)
    assert f.address is not None and f.address.category == expected_category(ip)


@PROPERTY
@given(ip=st.ip_addresses(v=6), port=st.integers(1, 65535))
def test_a_bracketed_ipv6_endpoint_is_found_and_classified_by_the_table(
    ip: ipaddress.IPv6Address, port: int, kb: Knowledge
) -> None:
    text = f"listening on [{ip}]:{port}"
    exp = explain(text, kb)
    [f] = [f for f in exp.findings if f.kind == "endpoint"]
    assert f.text == f"[{ip}]:{port}"
    assert f.port is not None and f.port.number == port
    assert f.address is not None and f.address.category == expected_category(ip)


# -- the shortcuts of extraction agree with their plain definitions ---------------------------------

HOST_PIECES = st.sampled_from(
    [
        "db",
        "localhost",
        "a-b",
        ".",
        "-",
        ":",
        ":5432",
        ":80",
        "5",
        "_",
        "@",
        "/",
        " ",
        "é",
        "x" * 70,
        "a." * 160,
    ]
)


@PROPERTY
@given(text=st.lists(HOST_PIECES | st.text(max_size=2), max_size=30).map("".join))
@example(text="a." * 200 + "b:80")  # a host name longer than the look-back window
def test_name_ports_are_the_matches_finditer_finds(text: str) -> None:
    from bot.core.extract import _NAME_PORT_RE, _name_ports

    assert [m.span() for m in _name_ports(text)] == [m.span() for m in _NAME_PORT_RE.finditer(text)]


URL_PIECES = st.sampled_from(
    [
        "http",
        "https",
        "ws",
        "postgres",
        "x",
        "1",
        "_",
        "+",
        ".",
        "-",
        "://",
        ":",
        "/",
        "a" * 15,
        "é",
        " ",
        "@",
        "?",
    ]
)


@PROPERTY
@given(text=st.lists(URL_PIECES | st.text(max_size=2), max_size=30).map("".join))
@example(text="abcdefghijklmnop://x")  # a scheme of 16 characters
@example(text="abcdefghijklmnopq://x")  # and of 17
@example(text="http://a://b http://c")
def test_urls_are_the_matches_finditer_finds(text: str) -> None:
    from bot.core.extract import _URL_RE, _urls

    assert [m.span() for m in _urls(text)] == [m.span() for m in _URL_RE.finditer(text)]


CASE_PIECES = st.sampled_from(
    ["localhost", "LocalHost", "LOCALHOST", "port", "Port", " ", "  ", ",", ".", "-", "@", "/", "x", "3000",
     "22", "https", "HTTP", "ssh", "SFTP", "ftp", "smtps", "IMAP", "dns", "rdp", "vnc", "Telnet", ":", "\t"]
)  # fmt: skip


@PROPERTY
@given(text=st.lists(CASE_PIECES | st.text(alphabet="aAlLsS3 .:-_", max_size=2), max_size=25).map("".join))
@example(text="x.localhost @LocalHost /localhost -LOCALHOST localhost, port 3000 localhost.x")
@example(text="-https 443 xssh 22 SSH\t22 https 4433.1 sftp 2222: Telnet 23 smtps 465x")
def test_the_lower_case_patterns_match_as_the_case_blind_ones_do(text: str) -> None:
    """On ASCII text, a pattern run over the lower-cased text finds what its case-blind twin finds."""
    from bot.core.extract import _LOCALHOST_LOWER_RE, _LOCALHOST_RE, _SCHEME_PORT_LOWER_RE, _SCHEME_PORT_RE

    for blind, lower in ((_LOCALHOST_RE, _LOCALHOST_LOWER_RE), (_SCHEME_PORT_RE, _SCHEME_PORT_LOWER_RE)):
        groups = list(blind.groupindex)
        assert [[m.span(), *(m.span(g) for g in groups)] for m in blind.finditer(text)] == [
            [m.span(), *(m.span(g) for g in groups)] for m in lower.finditer(text.lower())
        ]


_BANNERS = sorted(load_knowledge().banners)


@PROPERTY
@given(
    parts=st.lists(
        st.sampled_from(_BANNERS) | st.text(max_size=3) | st.sampled_from([" ", "x", "."]), max_size=8
    )
)
def test_the_program_of_a_line_is_the_first_banner_it_holds(parts: list[str], kb: Knowledge) -> None:
    from bot.core.classify import program_on_line

    line = "".join(parts).replace("\n", " ")  # one line
    first = next((entry for banner, entry in kb.banners.items() if banner in line.lower()), None)
    assert program_on_line(line, (0, 0), kb) == first


@PROPERTY
@given(
    text=st.lists(
        st.sampled_from(["1", "0", "00", "25", "255", "256", "999", ".", "٣", " ", "+", "-"]), max_size=12
    ).map("".join)
)
@example(text="01.2.3.4")
@example(text="1.2.3.4")
def test_the_quick_ipv4_parser_agrees_with_ipaddress(text: str) -> None:
    from bot.core.knowledge import ipv4_value

    try:
        expected: int | None = int(ipaddress.IPv4Address(text))
    except ValueError:
        expected = None
    assert ipv4_value(text) == expected


@PROPERTY
@given(ip=st.ip_addresses(v=4), prefixlen=st.integers(0, 40))
@example(ip=ipaddress.IPv4Address("10.0.0.0"), prefixlen=8)
@example(ip=ipaddress.IPv4Address("192.168.1.7"), prefixlen=16)
def test_an_ipv4_network_is_sized_as_ipaddress_says(
    ip: ipaddress.IPv4Address, prefixlen: int, kb: Knowledge
) -> None:
    from bot.core import classify_network

    info = classify_network(str(ip), prefixlen, kb)
    try:
        net = ipaddress.ip_network(f"{ip}/{prefixlen}", strict=False)
    except ValueError:
        assert info.category == "invalid"
        return
    assert (info.prefix, info.version, info.size) == (str(net), 4, net.num_addresses)
    assert (info.first, info.last) == (str(net.network_address), str(net.broadcast_address))
    assert info.category == classify_address(str(net.network_address), kb).category
    assert (info.reason is None) == (net.network_address == ip)

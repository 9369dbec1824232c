"""The knowledge base: every shipped file validates, a broken file fails with file, entry and reason,
every entry cites a primary source, the cache is safe, and the seed article's concepts are covered.
"""

from __future__ import annotations

import marshal
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.core import explain
from bot.core.knowledge import Knowledge
from bot.kb import KnowledgeError, check_knowledge, knowledge_dir, load_knowledge
from bot.kb.loader import build_knowledge, fingerprint

ISSUE_SYMBOLS = {
    "ECONNREFUSED", "EADDRINUSE", "EADDRNOTAVAIL", "EACCES", "ETIMEDOUT", "EHOSTUNREACH",
    "ENETUNREACH", "ECONNRESET", "ECONNABORTED", "EPIPE", "ENOTFOUND", "EAI_AGAIN",
}  # fmt: skip
ISSUE_TERMS = [
    "localhost", "loopback", "ephemeral-port", "well-known-port", "port", "socket",
    "unspecified-address", "nat", "cgnat", "port-forwarding", "firewall", "ipv6",
]  # fmt: skip


# -- the shipped knowledge base --------------------------------------------------------------------


@pytest.fixture(scope="module")
def counts() -> dict[str, int]:
    return check_knowledge().counts


@pytest.mark.parametrize(
    "kind",
    [
        "terms",
        "errors",
        "programs",
        "aliases",
        "error messages",
        "address blocks",
        "developer ports",
        "IANA ports",
        "ephemeral ranges",
    ],
)
def test_every_shipped_file_validates_and_each_kind_has_entries(counts: dict[str, int], kind: str) -> None:
    assert counts[kind] > 0


def test_the_iana_registry_is_indexed_in_full(counts: dict[str, int]) -> None:
    assert counts["IANA ports"] > 5000
    assert counts["ephemeral ranges"] == 4


def test_at_least_the_twelve_socket_errors_of_the_issue(counts: dict[str, int], kb: Knowledge) -> None:
    assert counts["errors"] >= 12
    symbols = {e.symbol for e in kb.entries.values() if e.kind == "error"}
    assert symbols >= ISSUE_SYMBOLS


@pytest.mark.parametrize("term", ISSUE_TERMS)
def test_every_term_the_issue_names_exists(term: str, kb: Knowledge) -> None:
    entry = kb.entries.get(term)
    assert entry is not None and entry.kind == "term"


def test_ids_equal_file_names(kb: Knowledge) -> None:
    for entry in kb.entries.values():
        assert Path(entry.file).stem == entry.id, entry.file


def test_every_entry_cites_an_https_source(kb: Knowledge) -> None:
    for entry in kb.entries.values():
        assert entry.sources, entry.id
        assert any(s.url.startswith("https://") for s in entry.sources), entry.id
    for block in kb.blocks:
        assert any(s.url.startswith("https://") for s in block.sources), block.network
    for dev in kb.dev_ports:
        assert dev.source.url.startswith("https://"), dev.port
    for eph in kb.ephemeral:
        assert eph.source.url.startswith("https://"), eph.os


def test_the_default_ephemeral_ranges_are_the_issues(kb: Knowledge) -> None:
    ranges = {r.os: (r.first, r.last) for r in kb.ephemeral}
    assert ranges == {
        "linux": (32768, 60999),
        "windows": (49152, 65535),
        "macos": (49152, 65535),
        "freebsd": (10000, 65535),
    }


def test_the_rfc_6335_ranges(kb: Knowledge) -> None:
    assert [(r.range, r.first, r.last) for r in kb.port_ranges] == [
        ("well-known", 0, 1023),
        ("registered", 1024, 49151),
        ("dynamic", 49152, 65535),
    ]


# -- broken copies ---------------------------------------------------------------------------------


@pytest.fixture
def kb_copy(tmp_path: Path) -> Path:
    """A private copy of the knowledge base to break."""
    root = tmp_path / "knowledge"
    shutil.copytree(knowledge_dir(), root)
    return root


def edit_yaml(path: Path, change: Callable[[Any], None]) -> None:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    change(data)
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")


def first_message(root: Path, error_id: str) -> str:
    data = yaml.safe_load((root / "errors" / f"{error_id}.yaml").read_text(encoding="utf-8"))
    return str(data["messages"][0])


def set_prefix(items: list[dict[str, Any]]) -> None:
    items[2]["prefix"] = "10.0.0.1/8"  # host bits set: not a network


def set_command(data: dict[str, Any]) -> None:
    data["commands"]["linux"][0]["cmd"] = "ss -ltnp 'sport = :{pid}'"


BREAKAGES: dict[str, tuple[Callable[[Path], None], str, str | None, str]] = {
    # name: (how to break the copy, file, entry, words of the reason)
    "bad yaml": (
        lambda root: (root / "terms" / "nat.yaml").write_text(
            "id: nat\ntitle: [unclosed\n", encoding="utf-8"
        ),
        "terms/nat.yaml",
        None,
        "not valid YAML",
    ),
    "missing sources": (
        lambda root: edit_yaml(root / "terms" / "nat.yaml", lambda d: d.pop("sources")),
        "terms/nat.yaml",
        "nat",
        "'sources'",
    ),
    "alias collision": (
        lambda root: edit_yaml(root / "terms" / "firewall.yaml", lambda d: d["aliases"].append("cgnat")),
        "terms/firewall.yaml",
        "firewall",
        "alias 'cgnat' is already used by 'cgnat'",
    ),
    "message collision": (
        lambda root: edit_yaml(
            root / "errors" / "etimedout.yaml",
            lambda d: d["messages"].append(first_message(root, "econnrefused")),
        ),
        "errors/etimedout.yaml",
        "etimedout",
        "is already used by 'econnrefused'",
    ),
    "unknown see_also": (
        lambda root: edit_yaml(root / "terms" / "nat.yaml", lambda d: d.update(see_also=["no-such-entry"])),
        "terms/nat.yaml",
        "nat",
        "see_also names 'no-such-entry'",
    ),
    "unknown placeholder": (
        lambda root: edit_yaml(root / "terms" / "listening.yaml", set_command),
        "terms/listening.yaml",
        "listening",
        "unknown placeholder '{pid}'",
    ),
    "invalid prefix": (
        lambda root: edit_yaml(root / "addresses.yaml", set_prefix),
        "addresses.yaml",
        "item 3",
        "'prefix' is not a network",
    ),
    "unknown category": (
        lambda root: edit_yaml(root / "addresses.yaml", lambda items: items[2].update(category="privat")),
        "addresses.yaml",
        "10.0.0.0/8",
        "'category' must be one of",
    ),
    "triggers not a flag": (
        lambda root: edit_yaml(root / "terms" / "nat.yaml", lambda d: d.update(triggers="yes")),
        "terms/nat.yaml",
        "nat",
        "'triggers' must be true, false or a list of the entry's aliases",
    ),
    "triggers not an alias": (
        lambda root: edit_yaml(root / "terms" / "cors.yaml", lambda d: d.update(triggers=["blocked"])),
        "terms/cors.yaml",
        "cors",
        "'triggers' names 'blocked', which is not one of the entry's aliases",
    ),
    "http source": (
        lambda root: edit_yaml(
            root / "terms" / "nat.yaml", lambda d: d["sources"][0].update(url="http://example.com/")
        ),
        "terms/nat.yaml",
        "nat",
        "https://",
    ),
}


@pytest.mark.parametrize("name", list(BREAKAGES))
def test_a_broken_copy_fails_with_file_entry_and_reason(name: str, kb_copy: Path) -> None:
    breaks, file, entry, reason = BREAKAGES[name]
    build_knowledge(kb_copy)  # the unbroken copy is fine
    breaks(kb_copy)
    with pytest.raises(KnowledgeError) as info:
        check_knowledge(kb_copy)
    err = info.value
    assert err.file == file
    assert err.entry == entry
    assert reason in err.reason
    message = str(err)
    assert file in message and reason in message
    if entry is not None:
        assert entry in message


def test_a_missing_folder_is_a_knowledge_error(tmp_path: Path) -> None:
    with pytest.raises(KnowledgeError, match="does not exist"):
        build_knowledge(tmp_path / "nowhere")


# -- the cache -------------------------------------------------------------------------------------


@pytest.fixture
def cache_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "cache"
    monkeypatch.setenv("XDG_CACHE_HOME", str(home))
    return home


def test_a_second_load_is_the_memoised_object(kb_copy: Path, cache_home: Path) -> None:
    first = load_knowledge(kb_copy)
    assert load_knowledge(kb_copy) is first
    assert load_knowledge(kb_copy, reload=True) is not first


def test_the_cache_is_written_under_xdg_cache_home(kb_copy: Path, cache_home: Path) -> None:
    load_knowledge(kb_copy)
    assert [p.name for p in (cache_home / "netexplain").iterdir()] == [f"kb-{fingerprint(kb_copy)}.marshal"]


def test_without_the_cache_nothing_is_written(kb_copy: Path, cache_home: Path) -> None:
    load_knowledge(kb_copy, use_cache=False)
    assert not (cache_home / "netexplain").exists()


def test_a_cached_load_answers_like_a_fresh_build(kb_copy: Path, cache_home: Path) -> None:
    load_knowledge(kb_copy)
    cached = load_knowledge(kb_copy, reload=True)  # from the cache file
    fresh = build_knowledge(kb_copy)
    query = "connect ECONNREFUSED ::1:5432 what is an ephemeral port?"
    assert explain(query, cached).to_json() == explain(query, fresh).to_json()
    for field in ("entries", "blocks", "dev_ports", "iana", "ephemeral", "port_ranges", "examples"):
        assert getattr(cached, field) == getattr(fresh, field), field
    assert cached.alias_index == fresh.alias_index and cached.trigger_words == fresh.trigger_words


def test_editing_a_file_changes_the_fingerprint_and_the_answer(kb_copy: Path, cache_home: Path) -> None:
    before = fingerprint(kb_copy)
    first = load_knowledge(kb_copy)
    edit_yaml(kb_copy / "terms" / "nat.yaml", lambda d: d.update(title="NAT, edited"))
    assert fingerprint(kb_copy) != before
    second = load_knowledge(kb_copy)
    assert second is not first
    assert second.entries["nat"].title == "NAT, edited"
    assert len(list((cache_home / "netexplain").glob("kb-*"))) == 1  # the stale one is gone


def test_a_corrupt_cache_file_is_ignored_and_rewritten(kb_copy: Path, cache_home: Path) -> None:
    load_knowledge(kb_copy)
    cache_file = cache_home / "netexplain" / f"kb-{fingerprint(kb_copy)}.marshal"
    corrupt = b"\xa9\x02not marshal data at all"
    cache_file.write_bytes(corrupt)
    kb = load_knowledge(kb_copy, reload=True)
    assert isinstance(kb, Knowledge)
    assert "nat" in kb.entries
    assert cache_file.read_bytes() != corrupt and len(cache_file.read_bytes()) > 1000


def test_a_cache_holding_something_else_is_ignored(kb_copy: Path, cache_home: Path) -> None:
    load_knowledge(kb_copy)
    cache_file = cache_home / "netexplain" / f"kb-{fingerprint(kb_copy)}.marshal"
    cache_file.write_bytes(marshal.dumps(1))
    assert isinstance(load_knowledge(kb_copy, reload=True), Knowledge)


def test_a_cache_written_for_other_files_is_not_used(kb_copy: Path, cache_home: Path) -> None:
    # The file name is a short digest; the data inside names exactly what it was built from.
    load_knowledge(kb_copy)
    cache_file = cache_home / "netexplain" / f"kb-{fingerprint(kb_copy)}.marshal"
    key_text, plain = marshal.loads(cache_file.read_bytes())
    entries = tuple((e[0], e[1], "Edited elsewhere", *e[3:]) if e[0] == "nat" else e for e in plain[0])
    cache_file.write_bytes(marshal.dumps((key_text + "\nother.yaml:1:1", (entries, *plain[1:]))))
    assert load_knowledge(kb_copy, reload=True).entries["nat"].title != "Edited elsewhere"
    cache_file.write_bytes(marshal.dumps((key_text, (entries, *plain[1:]))))
    assert load_knowledge(kb_copy, reload=True).entries["nat"].title == "Edited elsewhere"


def test_an_unwritable_cache_does_not_stop_loading(
    kb_copy: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocker = tmp_path / "file-not-dir"
    blocker.write_text("x")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocker))
    assert isinstance(load_knowledge(kb_copy, reload=True), Knowledge)


# -- the seed article's concepts -------------------------------------------------------------------

SEED_TERMS = [
    ("localhost", "localhost"),
    ("loopback address", "loopback"),
    ("port number", "port"),
    ("dynamic port", "dynamic-port-range"),
    ("ephemeral port", "ephemeral-port"),
    ("XAMPP", "local-development-server"),
    ("network isolation", "network-isolation"),
]
SEED_PORTS = [
    ("HTTP port 80", 80, "HTTP"),
    ("FTP ports 20 and 21", 20, "FTP"),
    ("SSH port 22", 22, "SSH"),
]


@pytest.mark.parametrize(("text", "entry_id"), SEED_TERMS)
def test_each_seed_concept_is_explained_from_an_entry(text: str, entry_id: str, kb: Knowledge) -> None:
    exp = explain(text, kb)
    ids = {f.term for f in exp.findings} | {f.address.entry_id for f in exp.findings if f.address}
    assert entry_id in ids
    assert entry_id in exp.answer.entry_ids


@pytest.mark.parametrize(("text", "port", "service"), SEED_PORTS)
def test_each_seed_port_is_explained_with_its_service(
    text: str, port: int, service: str, kb: Knowledge
) -> None:
    exp = explain(text, kb)
    [f] = [f for f in exp.findings if f.kind == "port"]
    assert f.port is not None and f.port.number == port
    assert any(service in s for s in f.port.services)
    assert service in exp.answer.summary


def test_https_443_is_explained(kb: Knowledge) -> None:
    assert explain("HTTPS 443", kb).findings


def test_web_server_is_explained(kb: Knowledge) -> None:
    assert explain("web server", kb).findings

"""Knowledge files written to hurt: alias bombs, repeated keys and wrong types fail cleanly.

Every one ends in a `KnowledgeError` naming the file and the entry, quickly and in little memory, in
`netexplain kb check`, in the loader, and in the playground's Reload knowledge; never a MemoryError, a
KeyError or a traceback.
"""

from __future__ import annotations

import asyncio
import os
import resource
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.kb import KnowledgeError
from bot.kb.loader import IANA_CSV, build_knowledge
from bot.playground.app import Playground
from tests.playground.page_client import PageClient

REPO = Path(__file__).resolve().parents[2]
# Nine lists of nine of the one before: 9**9 strings once expanded (the classic "billion laughs").
BOMB = "lol0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n" + "".join(
    f"lol{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]\n" for i in range(1, 10)
)


@pytest.fixture
def kb_copy(tmp_path: Path) -> Path:
    root = tmp_path / "knowledge"
    shutil.copytree(REPO / "knowledge", root)
    return root


def indent(text: str, spaces: int) -> str:
    return "".join(" " * spaces + line + "\n" for line in text.splitlines())


def replace_in(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, (path, old)
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


BREAKAGES: dict[str, tuple[Callable[[Path], None], str, str | None, str]] = {
    # name: (how to break the copy, file, entry, words of the reason)
    "alias bomb in the examples": (
        lambda root: (root / "examples.yaml").write_text(
            "- bomb:\n" + indent(BOMB, 4) + '- "127.0.0.1:62893"\n', encoding="utf-8"
        ),
        "examples.yaml",
        "item 1",
        "line 2 sets the YAML anchor &a0",
    ),
    "aliased address prefix": (
        lambda root: replace_in(
            root / "addresses.yaml", "- prefix: 0.0.0.0/8", "- prefix: &p 0.0.0.0/8\n  x: *p"
        ),
        "addresses.yaml",
        "0.0.0.0/8",
        "anchor &p",
    ),
    "alias bomb in an OS list": (
        lambda root: replace_in(
            root / "port-ranges.yaml", "  - os: linux\n", "  - os: linux\n    bomb:\n" + indent(BOMB, 6)
        ),
        "port-ranges.yaml",
        "ephemeral: linux",
        "the knowledge base takes no anchors or aliases",
    ),
    "alias in a port": (
        lambda root: (root / "ports.yaml").write_text(
            "- {port: &p 3000, protocol: tcp}\n- {port: *p, protocol: tcp}\n", encoding="utf-8"
        ),
        "ports.yaml",
        "port 3000",
        "anchor &p",
    ),
    "id written twice": (
        lambda root: replace_in(root / "terms" / "nat.yaml", "id: nat\n", "id: nat\nid: cgnat\n"),
        "terms/nat.yaml",
        "nat",
        "has the key 'id' twice in one mapping",
    ),
    "a key twice in an address block": (
        lambda root: replace_in(
            root / "addresses.yaml",
            "  category: this-network\n",
            "  category: this-network\n  category: public\n",
        ),
        "addresses.yaml",
        "0.0.0.0/8",
        "has the key 'category' twice",
    ),
    "missing first": (
        lambda root: replace_in(
            root / "port-ranges.yaml", "{range: well-known, first: 0, ", "{range: well-known, "
        ),
        "port-ranges.yaml",
        "iana_ranges: well-known",
        "'first' is missing",
    ),
    "non-numeric first": (
        lambda root: replace_in(root / "port-ranges.yaml", "first: 1024", "first: one thousand"),
        "port-ranges.yaml",
        "iana_ranges: registered",
        "'first' must be a whole number from 0 to 65535",
    ),
    "ephemeral first as text": (
        lambda root: replace_in(root / "port-ranges.yaml", "first: 32768", 'first: "32768"'),
        "port-ranges.yaml",
        "ephemeral: linux",
        "'first' must be a whole number",
    ),
    "examples not text": (
        lambda root: (root / "examples.yaml").write_text("- [1, 2]\n- {a: b}\n", encoding="utf-8"),
        "examples.yaml",
        None,
        "must be a list of example queries",
    ),
    "a list as the category": (
        lambda root: replace_in(
            root / "addresses.yaml", "  category: this-network\n", "  category: [a, b]\n"
        ),
        "addresses.yaml",
        "0.0.0.0/8",
        "'category' must be one of",
    ),
    "a number as a key": (
        lambda root: replace_in(root / "terms" / "nat.yaml", "id: nat\n", "id: nat\n7: seven\n"),
        "terms/nat.yaml",
        "nat",
        "the entry has the key 7, which is not text",
    ),
}


@pytest.mark.parametrize("name", list(BREAKAGES))
def test_a_hostile_file_fails_with_file_entry_and_reason(name: str, kb_copy: Path) -> None:
    breaks, file, entry, reason = BREAKAGES[name]
    breaks(kb_copy)
    started = time.perf_counter()
    with pytest.raises(KnowledgeError) as info:
        build_knowledge(kb_copy)
    assert time.perf_counter() - started < 10  # not minutes of alias expansion
    err = info.value
    assert (err.file, err.entry) == (file, entry), str(err)
    assert reason in err.reason, str(err)


def _limit_memory() -> None:  # in the child: 1 GiB of address space, far below what a bomb needs
    resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))


def test_kb_check_names_the_file_and_entry_of_an_alias_bomb_in_one_line(
    kb_copy: Path, tmp_path: Path
) -> None:
    replace_in(
        kb_copy / "port-ranges.yaml", "  - os: linux\n", "  - os: linux\n    bomb:\n" + indent(BOMB, 6)
    )
    env = {**os.environ, "NETEXPLAIN_KNOWLEDGE": str(kb_copy), "XDG_CACHE_HOME": str(tmp_path / "cache")}
    run = subprocess.run(
        [sys.executable, "-m", "bot.cli", "kb", "check"],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO,
        timeout=60,
        preexec_fn=_limit_memory,
    )
    assert run.returncode == 2 and run.stdout == ""
    assert run.stderr.count("\n") == 1 and "Traceback" not in run.stderr
    assert run.stderr.startswith(
        "netexplain: knowledge base error: port-ranges.yaml: ephemeral: linux: line "
    )
    assert "anchor &a0" in run.stderr


async def test_reload_knowledge_in_the_playground_names_the_file_and_entry(kb_copy: Path) -> None:
    async with Playground(knowledge=kb_copy, start_bot=False) as pg:
        client = PageClient(pg)
        try:
            assert (await client.ok("GET", "/api/knowledge"))["error"] is None
            BREAKAGES["alias bomb in the examples"][0](kb_copy)
            status, state = await asyncio.wait_for(client.call("POST", "/api/knowledge/reload", {}), 30)
            assert status == 422 and state["entries"]  # the last good knowledge stays in use
            assert state["error"]["file"] == "examples.yaml" and state["error"]["entry"] == "item 1"
            assert "alias" in state["error"]["reason"] or "anchor" in state["error"]["reason"]
        finally:
            await client.close()


# -- fuzzing ----------------------------------------------------------------------------------------

FILES = [
    "examples.yaml",
    "addresses.yaml",
    "ports.yaml",
    "port-ranges.yaml",
    "terms/nat.yaml",
    "errors/econnrefused.yaml",
]
SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(-(2**70), 2**70), st.floats(allow_nan=False), st.text(max_size=20)
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(st.one_of(st.text(max_size=8), st.integers()), inner, max_size=4),
    ),
    max_leaves=12,
)


def shared_lists(depth: int) -> list[Any]:
    """Lists of the same list: `yaml.safe_dump` writes them with anchors and aliases."""
    value: list[Any] = ["lol"] * 9
    for _ in range(depth):
        value = [value] * 9
    return value


HOSTILE = st.one_of(VALUES, st.integers(1, 6).map(shared_lists))


@st.composite
def edits(draw: st.DrawFn) -> tuple[str, list[Any], Any]:
    """(file, path of keys and indexes into its data, the value to put there, or `...` to delete)."""
    return (
        draw(st.sampled_from(FILES)),
        draw(st.lists(st.integers(0, 40), min_size=0, max_size=4)),
        draw(st.one_of(HOSTILE, st.just(...))),
    )


def _nodes(data: Any, steps: list[int]) -> Iterator[tuple[Any, Any]]:
    """Walk `data` by `steps` (each picks a child by position); yields (container, key) pairs."""
    node = data
    for step in steps:
        if isinstance(node, list) and node:
            key: Any = step % len(node)
        elif isinstance(node, dict) and node:
            key = list(node)[step % len(node)]
        else:
            return
        yield node, key
        node = node[key]


@pytest.fixture(scope="module")
def fuzz_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the knowledge base with a ten-row IANA registry, so each build is quick."""
    root = tmp_path_factory.mktemp("fuzz") / "knowledge"
    shutil.copytree(REPO / "knowledge", root)
    registry = root / IANA_CSV
    registry.write_text(
        "\n".join(registry.read_text(encoding="utf-8").splitlines()[:10]) + "\n", encoding="utf-8"
    )
    return root


@settings(
    max_examples=50,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(edit=edits())
def test_any_edit_of_a_knowledge_file_loads_or_fails_cleanly(
    edit: tuple[str, list[Any], Any], fuzz_root: Path
) -> None:
    file, steps, value = edit
    path = fuzz_root / file
    original = path.read_text(encoding="utf-8")
    data = yaml.safe_load(original)
    places = list(_nodes(data, steps))
    if not places:
        data = value if value is not ... else None
    else:
        container, key = places[-1]
        if value is ...:
            del container[key]
        else:
            container[key] = value
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    try:
        started = time.perf_counter()
        try:
            build_knowledge(fuzz_root)
        except KnowledgeError as err:
            assert err.file and err.reason and "\n" not in err.reason.strip()
        assert time.perf_counter() - started < 10
    finally:
        path.write_text(original, encoding="utf-8")

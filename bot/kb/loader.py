"""Reads the knowledge base from disk, validates it, indexes it once, and caches the result.

Parsing YAML and the 14,500-row IANA registry takes a good part of a second; the command line must
answer in tens of milliseconds. So the validated `Knowledge` is pickled into the user's cache directory,
keyed by a fingerprint of every knowledge file (path, size, modification time), and later starts
read that instead. Any edit to a knowledge file changes the fingerprint and rebuilds the cache.
"""

from __future__ import annotations

import csv
import hashlib
import io
import os
import pickle
import tempfile
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import bot
from bot.core.knowledge import AddressBlock, DevPort, Entry, EntryKind, Knowledge
from bot.kb.schema import KnowledgeError, parse_block, parse_dev_port, parse_entry, parse_port_ranges

ENTRY_FOLDERS: dict[str, EntryKind] = {"terms": "term", "errors": "error", "programs": "program"}
IANA_CSV = "data/iana-service-names-port-numbers.csv"
CACHE_FORMAT = 1
MAX_IANA_RANGE = 200  # a registration for a port range longer than this is not expanded port by port

_memo: dict[Path, tuple[str, Knowledge]] = {}


def knowledge_dir() -> Path:
    """Where the knowledge base is: `NETEXPLAIN_KNOWLEDGE`, inside the wheel, or the repository's."""
    override = os.environ.get("NETEXPLAIN_KNOWLEDGE")
    if override:
        return Path(override)
    packaged = Path(bot.__file__).parent / "_knowledge"
    if packaged.is_dir():
        return packaged
    return Path(bot.__file__).parent.parent / "knowledge"


def _cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "netexplain"


# The cached object's shape is defined by these modules: a change to any of them invalidates the cache.
_SHAPE_MODULES = ("core/knowledge.py", "core/model.py", "kb/schema.py", "kb/loader.py")


def fingerprint(root: Path) -> str:
    """A digest of every knowledge file's relative path, size and modification time (and of the code
    that defines the cached object's shape)."""
    digest = hashlib.sha256(f"{CACHE_FORMAT}:{bot.__version__}".encode())
    package = Path(bot.__file__).parent
    for name in _SHAPE_MODULES:
        st = (package / name).stat()
        digest.update(f"{name}:{st.st_size}:{st.st_mtime_ns}\n".encode())
    for path in sorted(root.rglob("*")):
        if path.suffix in (".yaml", ".yml", ".csv") and path.is_file():
            st = path.stat()
            digest.update(f"{path.relative_to(root)}:{st.st_size}:{st.st_mtime_ns}\n".encode())
    return digest.hexdigest()[:32]


def load_knowledge(root: Path | None = None, *, use_cache: bool = True, reload: bool = False) -> Knowledge:
    """The validated, indexed knowledge base; raises `KnowledgeError` naming file, entry and reason."""
    root = (root or knowledge_dir()).resolve()
    key = fingerprint(root)
    memo = _memo.get(root)
    if memo and memo[0] == key and not reload:
        return memo[1]
    cache_file = _cache_dir() / f"kb-{key}.pickle"
    kb: Knowledge | None = None
    if use_cache:
        kb = _read_cache(cache_file)
    if kb is None:
        kb = build_knowledge(root)
        if use_cache:
            _write_cache(cache_file, kb)
    _memo[root] = (key, kb)
    return kb


def _read_cache(path: Path) -> Knowledge | None:
    try:
        with path.open("rb") as fh:
            kb = pickle.load(fh)
    except (OSError, pickle.UnpicklingError, EOFError, AttributeError, ImportError, TypeError):
        return None
    return kb if isinstance(kb, Knowledge) else None


def _write_cache(path: Path, kb: Knowledge) -> None:
    # The cache is an optimisation: a read-only or full disk must not stop the bot from answering.
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile("wb", dir=path.parent, delete=False) as fh:
            pickle.dump(kb, fh, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(fh.name, path)
        for stale in path.parent.glob("kb-*.pickle"):
            if stale != path:
                stale.unlink(missing_ok=True)
    except (OSError, pickle.PicklingError, TypeError):
        pass


def _read_yaml(path: Path, root: Path) -> Any:
    rel = str(path.relative_to(root))
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise KnowledgeError(rel, None, f"cannot be read: {exc}") from None
    import yaml  # imported here: a start from the cache never needs it

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    try:
        return yaml.load(text, Loader=loader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise KnowledgeError(rel, None, f"is not valid YAML{where}: {problem}") from None


def build_knowledge(root: Path) -> Knowledge:
    """Parse and validate every knowledge file under `root`, with all cross-checks."""
    if not root.is_dir():
        raise KnowledgeError(str(root), None, "the knowledge folder does not exist")
    entries: dict[str, Entry] = {}
    for folder, kind in ENTRY_FOLDERS.items():
        for path in sorted((root / folder).glob("*.yaml")):
            rel = str(path.relative_to(root))
            raw = _read_yaml(path, root)
            items = raw if isinstance(raw, list) else [raw]
            for item in items:
                entry = parse_entry(item, kind, rel)
                if entry.id in entries:
                    raise KnowledgeError(rel, entry.id, f"id already used in {entries[entry.id].file}")
                entries[entry.id] = entry
    blocks = _load_list(root, "addresses.yaml", parse_block)
    dev_ports = _load_list(root, "ports.yaml", parse_dev_port)
    port_ranges, ephemeral = parse_port_ranges(
        _read_yaml(root / "port-ranges.yaml", root), "port-ranges.yaml"
    )
    examples_raw = _read_yaml(root / "examples.yaml", root) if (root / "examples.yaml").exists() else []
    examples = tuple(str(e) for e in examples_raw or [])
    _cross_check(entries, blocks, dev_ports, port_ranges)
    return Knowledge(
        entries=entries,
        blocks=blocks,
        dev_ports=dev_ports,
        iana=_load_iana(root / IANA_CSV),
        ephemeral=ephemeral,
        port_ranges=port_ranges,
        examples=examples,
    )


def _load_list(root: Path, name: str, parse: Any) -> tuple[Any, ...]:
    raw = _read_yaml(root / name, root)
    if not isinstance(raw, list):
        raise KnowledgeError(name, None, "must be a list")
    return tuple(parse(item, name, i) for i, item in enumerate(raw))


def _cross_check(
    entries: dict[str, Entry],
    blocks: tuple[AddressBlock, ...],
    dev_ports: tuple[DevPort, ...],
    port_ranges: tuple[Any, ...],
) -> None:
    """Collisions and dangling references are errors: a matcher must never have two owners."""
    owners: dict[tuple[str, str], Entry] = {}
    for entry in entries.values():
        keys = [("alias", a) for a in entry.aliases]
        keys += [("message", m) for m in entry.messages] + [("banner", b) for b in entry.banners]
        keys += [("code", str(c)) for c in set(entry.codes.values())]
        if entry.symbol:
            keys.append(("symbol", entry.symbol))
        keys += [("curl exit code", str(c)) for c in entry.curl_exit]
        for key in keys:
            other = owners.get(key)
            if other is not None and other.id != entry.id:
                raise KnowledgeError(
                    entry.file,
                    entry.id,
                    f"{key[0]} '{key[1]}' is already used by '{other.id}' ({other.file})",
                )
            owners[key] = entry
        for ref in entry.see_also:
            if ref not in entries:
                raise KnowledgeError(entry.file, entry.id, f"see_also names '{ref}', which does not exist")
    seen_prefixes = Counter(str(b.network) for b in blocks)
    for prefix, count in seen_prefixes.items():
        if count > 1:
            raise KnowledgeError("addresses.yaml", prefix, "this prefix is listed more than once")
    for block in blocks:
        if block.entry and block.entry not in entries:
            raise KnowledgeError(
                "addresses.yaml", str(block.network), f"entry '{block.entry}' does not exist"
            )
    for dp in dev_ports:
        if dp.entry and dp.entry not in entries:
            raise KnowledgeError("ports.yaml", f"port {dp.port}", f"entry '{dp.entry}' does not exist")
    for pr in port_ranges:
        if pr.entry not in entries:
            raise KnowledgeError("port-ranges.yaml", pr.range, f"entry '{pr.entry}' does not exist")


def _load_iana(path: Path) -> dict[int, str]:
    """Index the IANA registry by port: one packed string of registrations per port."""
    if not path.exists():
        raise KnowledgeError(IANA_CSV, None, "the IANA port registry is missing")
    by_port: dict[int, list[str]] = {}
    text = path.read_text(encoding="utf-8")
    for row in csv.DictReader(io.StringIO(text)):
        name = (row.get("Service Name") or "").strip()
        number = (row.get("Port Number") or "").strip()
        if not name or not number:
            continue  # unassigned/reserved ranges and DNS-SD-only names say nothing about a port
        first, _, last = number.partition("-")
        try:
            lo, hi = int(first), int(last or first)
        except ValueError:
            continue
        if hi - lo > MAX_IANA_RANGE:
            continue
        proto = (row.get("Transport Protocol") or "").strip()
        desc = " ".join((row.get("Description") or "").split())
        line = f"{name}\t{proto}\t{desc}"
        for port in range(lo, hi + 1):
            lines = by_port.setdefault(port, [])
            if line not in lines:
                lines.append(line)
    return {port: "\n".join(lines) for port, lines in by_port.items()}


@dataclass(frozen=True)
class KnowledgeReport:
    """What `netexplain kb check` reports."""

    root: Path
    counts: dict[str, int]


def check_knowledge(root: Path | None = None) -> KnowledgeReport:
    """Validate everything without the cache and count what is there."""
    root = (root or knowledge_dir()).resolve()
    kb = build_knowledge(root)
    kinds = Counter(e.kind for e in kb.entries.values())
    counts = {
        "terms": kinds["term"],
        "errors": kinds["error"],
        "programs": kinds["program"],
        "aliases": len(kb.aliases),
        "error messages": len(kb.error_messages),
        "address blocks": len(kb.blocks),
        "developer ports": len(kb.dev_ports),
        "IANA ports": len(kb.iana),
        "ephemeral ranges": len(kb.ephemeral),
    }
    return KnowledgeReport(root, counts)

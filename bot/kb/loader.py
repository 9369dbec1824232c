"""Reads the knowledge base from disk, validates it, indexes it once, and caches the result.

Parsing YAML and the 14,500-row IANA registry takes a good part of a second; the command line must
answer in tens of milliseconds. So the validated `Knowledge` is written to the user's cache directory as
plain data (tuples, dicts, strings and numbers, in `marshal` format: no import to pay for and faster to
read than a pickle), keyed by a fingerprint of every knowledge file (path, size, modification time) and
of the code that shapes it, and later starts read that instead. Any edit to a knowledge file changes the
fingerprint and rebuilds the cache.

The start-up path (`load_knowledge` from the cache) imports only `os`, `marshal` and `zlib`: YAML, CSV,
the schema, `pathlib`, `tempfile` and `hashlib` are imported only when the cache has to be (re)built.
"""

from __future__ import annotations

import marshal
import os
import sys
import zlib
from typing import TYPE_CHECKING, Any, NamedTuple

import bot
from bot.core.knowledge import (
    AddressBlock,
    Command,
    Conditions,
    DevPort,
    Diagnosis,
    Entry,
    EntryKind,
    EphemeralRange,
    Knowledge,
    PortRangeDef,
    Source,
)
from bot.kb.errors import KnowledgeError

if TYPE_CHECKING:
    from pathlib import Path

ENTRY_FOLDERS: dict[str, EntryKind] = {"terms": "term", "errors": "error", "programs": "program"}
DIAGNOSES_FOLDER = "diagnoses"
IANA_CSV = "data/iana-service-names-port-numbers.csv"
CACHE_FORMAT = 5  # 1: pickle; 2: plain data (marshal); 3: diagnoses; 4: phrases joined; 5: zone
MAX_IANA_RANGE = 200  # a registration for a port range longer than this is not expanded port by port
_KNOWLEDGE_SUFFIXES = (".yaml", ".yml", ".csv")

_memo: dict[str, tuple[str, Knowledge]] = {}


def _knowledge_root() -> str:
    override = os.environ.get("NETEXPLAIN_KNOWLEDGE")
    if override:
        return override
    package = os.path.dirname(bot.__file__)
    packaged = os.path.join(package, "_knowledge")
    if os.path.isdir(packaged):
        return packaged
    return os.path.join(os.path.dirname(package), "knowledge")


def knowledge_dir() -> Path:
    """Where the knowledge base is: `NETEXPLAIN_KNOWLEDGE`, inside the wheel, or the repository's."""
    from pathlib import Path

    return Path(_knowledge_root())


def _cache_dir() -> str:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "netexplain")


# The cached data's shape is defined by these modules: a change to any of them invalidates the cache.
_SHAPE_MODULES = ("core/knowledge.py", "core/model.py", "kb/schema.py", "kb/loader.py", "kb/yamlfile.py")


def _knowledge_files(root: str, rel: str = "") -> list[tuple[str, os.stat_result]]:
    found: list[tuple[str, os.stat_result]] = []
    with os.scandir(os.path.join(root, rel) if rel else root) as it:
        for item in it:
            name = f"{rel}/{item.name}" if rel else item.name
            if item.is_dir():
                found += _knowledge_files(root, name)
            elif item.name.endswith(_KNOWLEDGE_SUFFIXES) and item.is_file():
                found.append((name, item.stat()))
    return found


def _fingerprint_text(root: str) -> str:
    package = os.path.dirname(bot.__file__)
    lines = [f"{CACHE_FORMAT}:{bot.__version__}:{sys.version_info[:2]}"]
    for name in _SHAPE_MODULES:
        st = os.stat(os.path.join(package, name))
        lines.append(f"{name}:{st.st_size}:{st.st_mtime_ns}")
    for name, st in sorted(_knowledge_files(root)):
        lines.append(f"{name}:{st.st_size}:{st.st_mtime_ns}")
    return "\n".join(lines)


def _digest(text: str) -> str:
    data = text.encode()
    return f"{zlib.crc32(data):08x}{zlib.adler32(data):08x}"


def fingerprint(root: Path | str) -> str:
    """A digest of every knowledge file's relative path, size and modification time (and of the code
    that defines the cached data's shape)."""
    return _digest(_fingerprint_text(os.path.realpath(root)))


def load_knowledge(
    root: Path | str | None = None, *, use_cache: bool = True, reload: bool = False
) -> Knowledge:
    """The validated, indexed knowledge base; raises `KnowledgeError` naming file, entry and reason."""
    where = os.path.realpath(root or _knowledge_root())
    try:
        key_text = _fingerprint_text(where)
    except OSError:
        key_text = ""  # no such folder (or not one): `build_knowledge` says so
    key = _digest(key_text)
    memo = _memo.get(where)
    if memo and memo[0] == key and not reload:
        return memo[1]
    cache_file = os.path.join(_cache_dir(), f"kb-{key}.marshal")
    kb: Knowledge | None = None
    if use_cache and key_text:
        kb = _read_cache(cache_file, key_text)
    if kb is None:
        from pathlib import Path

        kb = build_knowledge(Path(where))
        if use_cache and key_text:
            _write_cache(cache_file, key_text, kb)
    _memo[where] = (key, kb)
    return kb


# -- the cache: `Knowledge` as plain data --------------------------------------------------------------


def _plain(kb: Knowledge) -> tuple[Any, ...]:
    """Everything `Knowledge` is built from, as tuples, dicts, strings and numbers."""
    entries = tuple(
        (
            *e[:7],
            tuple(map(tuple, e.sources)),
            e.aliases,
            {os_id: tuple(map(tuple, cmds)) for os_id, cmds in e.commands.items()},
            *e[10:13],
            dict(e.codes),
            *e[14:],
        )
        for e in kb.entries.values()
    )
    blocks = tuple(
        (
            b.network.version,
            int(b.network.network_address),
            b.network.prefixlen,
            *b[1:8],
            tuple(map(tuple, b.sources)),
            b.entry,
        )
        for b in kb.blocks
    )
    dev_ports = tuple((*d[:4], tuple(d.source), d.entry) for d in kb.dev_ports)
    ephemeral = tuple((*r[:5], tuple(r.source)) for r in kb.ephemeral)
    diagnoses = tuple(
        (
            *d[:1],
            tuple(d.when),
            *d[2:5],
            tuple(map(tuple, d.sources)),
            dict(d.by_service),
            {os_id: tuple(map(tuple, cmds)) for os_id, cmds in d.commands.items()},
            *d[8:],
        )
        for d in kb.diagnoses
    )
    ranges = tuple(map(tuple, kb.port_ranges))
    return (entries, blocks, dev_ports, kb.iana, ephemeral, ranges, kb.examples, diagnoses)


def _from_plain(data: tuple[Any, ...]) -> Knowledge:
    import ipaddress

    entries_raw, blocks_raw, dev_raw, iana, ephemeral_raw, ranges_raw, examples, diagnoses_raw = data
    entries: dict[str, Entry] = {}
    for e in entries_raw:
        commands = {os_id: tuple(Command(*c) for c in cmds) for os_id, cmds in e[9].items()}
        entry = Entry._make((*e[:7], tuple(Source(*s) for s in e[7]), e[8], commands, *e[10:]))
        entries[entry.id] = entry
    network_types: dict[int, type[ipaddress.IPv4Network | ipaddress.IPv6Network]] = {
        4: ipaddress.IPv4Network,
        6: ipaddress.IPv6Network,
    }
    blocks = tuple(
        AddressBlock._make(
            (network_types[b[0]]((b[1], b[2])), *b[3:10], tuple(Source(*s) for s in b[10]), b[11])
        )
        for b in blocks_raw
    )
    return Knowledge(
        entries=entries,
        blocks=blocks,
        dev_ports=tuple(DevPort._make((*d[:4], Source(*d[4]), d[5])) for d in dev_raw),
        iana=iana,
        ephemeral=tuple(EphemeralRange._make((*r[:5], Source(*r[5]))) for r in ephemeral_raw),
        port_ranges=tuple(PortRangeDef(*r) for r in ranges_raw),
        examples=examples,
        diagnoses=tuple(
            Diagnosis._make(
                (
                    d[0],
                    Conditions._make(d[1]),
                    *d[2:5],
                    tuple(Source(*s) for s in d[5]),
                    d[6],
                    {os_id: tuple(Command(*c) for c in cmds) for os_id, cmds in d[7].items()},
                    *d[8:],
                )
            )
            for d in diagnoses_raw
        ),
    )


def _read_cache(path: str, key_text: str) -> Knowledge | None:
    try:
        with open(path, "rb") as fh:
            stored = marshal.loads(fh.read())
        if not isinstance(stored, tuple) or len(stored) != 2 or stored[0] != key_text:
            return None
        return _from_plain(stored[1])
    except (OSError, EOFError, ValueError, TypeError, IndexError, KeyError, AttributeError):
        return None  # unreadable, truncated, or written by another version: rebuild it


def _write_cache(path: str, key_text: str, kb: Knowledge) -> None:
    # The cache is an optimisation: a read-only or full disk must not stop the bot from answering.
    import contextlib
    import tempfile

    folder = os.path.dirname(path)
    try:
        os.makedirs(folder, exist_ok=True)
        with tempfile.NamedTemporaryFile("wb", dir=folder, prefix="kb-", suffix=".tmp", delete=False) as fh:
            try:
                fh.write(marshal.dumps((key_text, _plain(kb))))
            except BaseException:
                fh.close()
                os.unlink(fh.name)
                raise
        os.replace(fh.name, path)
        for stale in os.listdir(folder):
            if stale.startswith("kb-") and os.path.join(folder, stale) != path:
                with contextlib.suppress(OSError):
                    os.unlink(os.path.join(folder, stale))
    except (OSError, ValueError):
        pass


def _read_yaml(path: Path, root: Path) -> Any:
    rel = str(path.relative_to(root))
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise KnowledgeError(rel, None, f"cannot be read: {exc}") from None
    from bot.kb.yamlfile import read_yaml  # imported here: a start from the cache never needs YAML

    return read_yaml(text, rel)


def build_knowledge(root: Path) -> Knowledge:
    """Parse and validate every knowledge file under `root`, with all cross-checks."""
    from bot.kb.diagnoses import parse_diagnosis
    from bot.kb.schema import parse_block, parse_dev_port, parse_entry, parse_port_ranges

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
    if examples_raw is not None and (
        not isinstance(examples_raw, list) or not all(isinstance(e, str) for e in examples_raw)
    ):
        raise KnowledgeError("examples.yaml", None, "must be a list of example queries (text)")
    examples = tuple(examples_raw or ())
    _cross_check(entries, blocks, dev_ports, port_ranges)
    diagnoses: dict[str, Diagnosis] = {}
    for path in sorted((root / DIAGNOSES_FOLDER).glob("*.yaml")):
        rel = str(path.relative_to(root))
        diagnosis = parse_diagnosis(_read_yaml(path, root), rel)
        if diagnosis.id in diagnoses or diagnosis.id in entries:
            raise KnowledgeError(rel, diagnosis.id, "id already used by another entry or diagnosis")
        if path.stem != diagnosis.id:
            raise KnowledgeError(rel, diagnosis.id, "the file name must be the id")
        _check_diagnosis(diagnosis, entries)
        diagnoses[diagnosis.id] = diagnosis
    return Knowledge(
        entries=entries,
        blocks=blocks,
        dev_ports=dev_ports,
        iana=_load_iana(root / IANA_CSV),
        ephemeral=ephemeral,
        port_ranges=port_ranges,
        examples=examples,
        diagnoses=tuple(diagnoses.values()),
    )


def _check_diagnosis(diagnosis: Diagnosis, entries: dict[str, Entry]) -> None:
    """A diagnosis names errors, terms and programs that exist."""
    symbols = {e.symbol for e in entries.values() if e.symbol}
    for name in diagnosis.when.errors:
        if name not in symbols and not (name in entries and entries[name].kind == "term"):
            raise KnowledgeError(diagnosis.file, diagnosis.id, f"'when.errors' names unknown error '{name}'")
    for name in (*diagnosis.when.services, *diagnosis.by_service):
        if entries.get(name) is None or entries[name].kind != "program":
            raise KnowledgeError(diagnosis.file, diagnosis.id, f"'{name}' is not a program entry")


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
    from collections import Counter

    owners: dict[tuple[str, str], Entry] = {}
    for entry in entries.values():
        keys = [("alias", a) for a in entry.aliases]
        keys += [("message", m) for m in entry.messages] + [("banner", b) for b in entry.banners]
        keys += [("code", str(c)) for c in set(entry.codes.values())]
        if entry.symbol:
            keys.append(("symbol", entry.symbol))
        keys += [("curl exit code", str(c)) for c in entry.curl_exit]
        keys += [("address", a) for a in entry.addresses]
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
    import csv
    import io

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


class KnowledgeReport(NamedTuple):
    """What `netexplain kb check` reports."""

    root: Path
    counts: dict[str, int]


def check_knowledge(root: Path | None = None) -> KnowledgeReport:
    """Validate everything without the cache and count what is there."""
    from collections import Counter

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

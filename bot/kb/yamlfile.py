"""Knowledge files read as YAML, strictly: no anchors or aliases, and no key written twice.

An alias lets a few lines stand for gigabytes ("billion laughs"): PyYAML shares the aliased node, but
whatever walks the value afterwards (`str()`, validation) pays for every copy. The knowledge base has
no use for them, so an anchor or alias is refused while the document is composed, before any value is
built, with the file, the entry and the line. A key written twice in one mapping is refused too:
PyYAML would silently keep the last one.

libyaml (`CSafeLoader`) still parses; only the composing of nodes runs in Python, which is where an
alias is seen.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import yaml
from yaml.composer import Composer
from yaml.events import AliasEvent
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from bot.kb.errors import KnowledgeError

_BaseLoader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
# libyaml's loader composes in C; the composer in Python comes first so that composing runs here. (The
# pure-Python SafeLoader, without libyaml, has it already.)
_BASES: tuple[type, ...] = (_BaseLoader,) if issubclass(_BaseLoader, Composer) else (Composer, _BaseLoader)
# The keys that name an item, as the schema names it in its errors.
_NAMING_KEYS = ("id", "prefix", "port", "os", "range")
_WRITE_IT_OUT = ": the knowledge base takes no anchors or aliases; write the value out"


class _Problem(NamedTuple):
    at: int  # where in the text, for ordering and for finding the entry
    line: int
    reason: str


class _StrictLoader(*_BASES):  # type: ignore[misc]
    """PyYAML's safe loader, noting every anchor, alias and repeated key while it composes."""

    def __init__(self, text: str) -> None:
        _BaseLoader.__init__(self, text)
        Composer.__init__(self)  # (again, for the pure-Python loader: it only sets `anchors`)
        self.problems: list[_Problem] = []

    def _note(self, mark: Any, reason: str) -> None:
        self.problems.append(_Problem(mark.index, mark.line + 1, reason))

    def compose_node(self, parent: Node | None, index: Any) -> Node | None:
        event = self.peek_event()
        if isinstance(event, AliasEvent):
            self._note(event.start_mark, f"uses the YAML alias *{event.anchor}{_WRITE_IT_OUT}")
        elif getattr(event, "anchor", None) is not None:
            self._note(event.start_mark, f"sets the YAML anchor &{event.anchor}{_WRITE_IT_OUT}")
        node: Node | None = super().compose_node(parent, index)
        return node

    def compose_mapping_node(self, anchor: Any) -> MappingNode:
        node: MappingNode = super().compose_mapping_node(anchor)
        seen: set[tuple[str, str]] = set()
        for key, _ in node.value:
            if isinstance(key, ScalarNode):
                if (key.tag, key.value) in seen:
                    self._note(key.start_mark, f"has the key '{key.value}' twice in one mapping")
                seen.add((key.tag, key.value))
        return node


def read_yaml(text: str, file: str) -> Any:
    """The value of one YAML document; `KnowledgeError` (file, entry, line) for what is refused."""
    loader = _StrictLoader(text)
    try:
        node = loader.get_single_node()
        if loader.problems:
            problem = min(loader.problems)
            raise KnowledgeError(file, _entry_at(node, problem.at), f"line {problem.line} {problem.reason}")
        return None if node is None else loader.construct_document(node)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
        problem_text = getattr(exc, "problem", None) or str(exc)
        raise KnowledgeError(file, None, f"is not valid YAML{where}: {problem_text}") from None
    finally:
        loader.dispose()


def _entry_at(root: Node | None, index: int) -> str | None:
    """The name of the entry (or list item) holding text position `index`, as the schema names it."""
    if isinstance(root, MappingNode):
        name = _name_of(root)
        if name is not None:
            return name  # a file holding one entry
        for key, value in root.value:
            if isinstance(value, SequenceNode) and _holds(value, index):
                item = _item_at(value, index)
                return f"{key.value}: {item}" if item else str(key.value)
        return None
    if isinstance(root, SequenceNode):
        return _item_at(root, index)
    return None


def _item_at(sequence: SequenceNode, index: int) -> str | None:
    for number, item in enumerate(sequence.value, 1):
        if _holds(item, index):
            return _name_of(item) or f"item {number}"
    return None


def _holds(node: Node, index: int) -> bool:
    return bool(node.start_mark.index <= index < max(node.end_mark.index, node.start_mark.index + 1))


def _name_of(node: Node) -> str | None:
    if not isinstance(node, MappingNode):
        return None
    scalars: dict[str, str] = {}
    for key, value in node.value:
        if isinstance(key, ScalarNode) and isinstance(value, ScalarNode):
            scalars.setdefault(key.value, value.value)  # the first, where a key is repeated
    for key in _NAMING_KEYS:
        if key in scalars:
            return f"port {scalars[key]}" if key == "port" else str(scalars[key])
    return None

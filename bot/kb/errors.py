"""The one error the knowledge base raises (its own module, so a start from the cache needn't import
the schema)."""

from __future__ import annotations


class KnowledgeError(Exception):
    """A knowledge file that does not validate: which file, which entry, and why."""

    def __init__(self, file: str, entry: str | None, reason: str) -> None:
        self.file = file
        self.entry = entry
        self.reason = reason
        where = f"{file}: {entry}" if entry else file
        super().__init__(f"{where}: {reason}")

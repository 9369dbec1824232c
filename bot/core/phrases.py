"""Phrases more than one step writes: lists in prose, and whose ephemeral range holds a port."""

from __future__ import annotations

import functools
from collections.abc import Iterable

from bot.core.knowledge import Knowledge
from bot.core.model import OsId


def join_words(items: Iterable[str]) -> str:
    """ "a", "a and b", "a, b and c"."""
    items = list(items)
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


@functools.lru_cache(maxsize=32)
def ephemeral_sentence(on: tuple[OsId, ...], kb: Knowledge) -> str:
    """Whose default ephemeral range holds a port, from the OSes `on` (a handful of values in all)."""
    names = {r.os: r.name for r in kb.ephemeral}
    inside = sorted((names[o] for o in on), key=str.lower)
    outside = [r for r in kb.ephemeral if r.os not in on]
    if not inside:
        return (
            "It is outside every common OS's default ephemeral range, so the OS does not pick it by itself."
        )
    text = f"It is inside the default ephemeral range on {join_words(inside)}"
    if outside:
        ranges = join_words(f"{r.name}'s {r.first}–{r.last}" for r in outside)
        text += f", but outside {ranges}"
    return text + "."

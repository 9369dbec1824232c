"""The knowledge-base preview: the reply the bot would post for an entry or a text, as Discord payloads.

It calls the bot's own reply builder (`build_reply`) on the core's explanation, so the preview shows
exactly the embeds and buttons the bot would send, cut to Discord's limits the way the bot cuts them.
Nothing here touches the network or the loopback server; the page module serves the results.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bot.cogs._answering import MAX_QUERY, build_reply
from bot.core import explain
from bot.core.compose import entry_answer
from bot.core.credentials import redact_credentials
from bot.core.knowledge import Entry, Knowledge
from bot.kb import KnowledgeError
from bot.render import TOTAL_LIMIT, AnswerView, render_answers, render_explanation, severity_of

PREVIEW_ASKER_ID = 0  # the preview has no asker; buttons are shown, not pressed


@dataclass(frozen=True, slots=True)
class EntrySummary:
    """One entry in the preview's picker."""

    id: str
    kind: str
    title: str
    file: str

    def to_json(self) -> dict[str, str]:
        """The picker row sent to the page."""
        return {"id": self.id, "kind": self.kind, "title": self.title, "file": self.file}


def entry_list(kb: Knowledge) -> list[EntrySummary]:
    """Every term, error and program entry, sorted by kind and then title."""
    entries = sorted(kb.entries.values(), key=lambda e: (e.kind, e.title.lower()))
    return [EntrySummary(e.id, e.kind, e.title, e.file) for e in entries]


def knowledge_error_json(error: KnowledgeError) -> dict[str, str | None]:
    """The three facts a contributor needs to fix a knowledge file."""
    return {"file": error.file, "entry": error.entry, "reason": error.reason}


def _candidate_queries(entry: Entry, kb: Knowledge) -> list[str]:
    """Texts a person might paste that should lead to `entry`, most specific first."""
    candidates = [entry.symbol or "", *entry.aliases, *entry.banners, *entry.messages, entry.title]
    candidates += [str(b.network) for b in kb.blocks if b.entry == entry.id]
    candidates += [f"port {dp.port}" for dp in kb.dev_ports if dp.entry == entry.id]
    candidates += [f"port {pr.first}" for pr in kb.port_ranges if pr.entry == entry.id]
    candidates += [f"port {p}" for p in entry.ports]
    # A program is recognised by its banner on the same line as an address (its start-up line).
    candidates += [f"{b} http://127.0.0.1:{p}" for b in entry.banners for p in entry.ports or (8080,)]
    return list(dict.fromkeys(c for c in candidates if c and len(c) <= MAX_QUERY))


def query_for_entry(entry: Entry, kb: Knowledge) -> str | None:
    """The first candidate text whose answer leads with `entry`, else one that mentions it anywhere.

    None means no alias, symbol, message or title of the entry reaches it: people can't get this
    answer by asking, which is worth telling the contributor.
    """
    fallback: str | None = None
    for text in _candidate_queries(entry, kb):
        explanation = explain(text, kb)
        parts = explanation.parts or (explanation.answer,)
        if entry.id in parts[0].entry_ids:
            return text
        if fallback is None and any(entry.id in p.entry_ids for p in parts):
            fallback = text
    return fallback


def _components(view: Any) -> list[dict[str, Any]]:
    return list(view.to_components()) if view is not None else []


def preview_text(text: str, kb: Knowledge, *, os: str | None = None) -> dict[str, Any]:
    """The reply the bot posts when asked about `text` (a mention, a DM or `/explain`)."""
    explanation = explain(text[:MAX_QUERY], kb)
    embeds, view = build_reply(explanation, kb=kb, asker_id=PREVIEW_ASKER_ID, style="full")
    rendered = render_explanation(explanation, os=os)
    if os is not None and explanation.found_anything:
        # What the asker sees after pressing an OS button: the bot re-renders with that system.
        embeds = rendered.embeds
        view = AnswerView(explanation, kb=kb, asker_id=PREVIEW_ASKER_ID, os=os)
    more = (
        render_answers(rendered.more[:10], os=os, severity=severity_of(explanation)) if rendered.more else []
    )
    payloads = [e.to_dict() for e in embeds]
    return {
        "query": redact_credentials(text),
        "found": explanation.found_anything,
        "triggered": explanation.triggered,
        "findings": [f.to_json() for f in explanation.findings],
        "embeds": payloads,
        "components": _components(view),
        "more": [e.to_dict() for e in more],
        "size": sum(len(e) for e in embeds),
        "limit": TOTAL_LIMIT,
        "os": os,
    }


def preview_entry(entry_id: str, kb: Knowledge, *, os: str | None = None) -> dict[str, Any]:
    """The reply for an entry: what the bot answers to the first query that reaches it.

    When no query reaches the entry, the entry's own answer is rendered instead and `reachable` is
    false. Raises `KeyError` for an unknown id.
    """
    entry = kb.entries[entry_id]
    query = query_for_entry(entry, kb)
    if query is not None:
        result = preview_text(query, kb, os=os)
        result.update(entry=entry_id, reachable=True)
        return result
    embeds = render_answers(
        [entry_answer(entry, kb)], os=os, severity="error" if entry.kind == "error" else "info"
    )
    return {
        "query": None,
        "found": False,
        "triggered": False,
        "findings": [],
        "embeds": [e.to_dict() for e in embeds],
        "components": [],
        "more": [],
        "size": sum(len(e) for e in embeds),
        "limit": TOTAL_LIMIT,
        "os": os,
        "entry": entry_id,
        "reachable": False,
    }

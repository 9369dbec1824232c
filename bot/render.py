"""The core's `Answer` as Discord embeds and buttons, always inside Discord's limits.

Limits (Discord `resources/message`): title 256, description 4096, 25 fields, field name 256, field value
1024, footer 2048, 6000 characters over all embeds of a message, 10 embeds, 2000 characters of content.
Over-limit payloads are rejected with a 400, so everything here is cut to size before it is sent.

Text is laid out as plain data first (`EmbedLayout`), fitted to the limits, then turned into
`discord.Embed`, so the fitting is a pure function that hypothesis can hammer.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import re
import secrets
from collections import OrderedDict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import discord

from bot.core import explain
from bot.core.credentials import redact_credentials
from bot.core.knowledge import Knowledge
from bot.core.model import Answer, Explanation

log = logging.getLogger(__name__)

TITLE_LIMIT = 256
DESCRIPTION_LIMIT = 4096
FIELD_COUNT_LIMIT = 25
FIELD_NAME_LIMIT = 256
FIELD_VALUE_LIMIT = 1024
FOOTER_LIMIT = 2048
TOTAL_LIMIT = 6000
EMBED_COUNT_LIMIT = 10
CONTENT_LIMIT = 2000
ELLIPSIS = "…"

PARTS_SHOWN = 1  # the answer is one embed; the full answer of each thing found sits behind "More"
COMPACT_SUMMARY = 300  # unasked replies stay short: the lead, which the core keeps within 300 characters
OS_LABELS: dict[str, str] = {"linux": "Linux", "macos": "macOS", "windows": "Windows"}

Severity = Literal["error", "info", "help"]
SEVERITY_COLOURS: dict[Severity, int] = {"error": 0xED4245, "info": 0x5865F2, "help": 0x99AAB5}

_ZWSP = "\u200b"
# Discord mention syntax: @everyone/@here and <@id>, <@!id>, <@&id>, <#id>.
_MASS_MENTION = re.compile(r"@(everyone|here)", re.IGNORECASE)
_ANGLE_MENTION = re.compile(r"<(@[!&]?|#)")
_FENCE = "```"


# --------------------------------------------------------------------------- safe text


def neutralise_mentions(text: str) -> str:
    """Break `@everyone`, `@here`, `<@id>`, `<@&id>` and `<#id>` so they render as text and ping nobody."""
    text = _MASS_MENTION.sub(lambda m: "@" + _ZWSP + m.group(1), text)
    return _ANGLE_MENTION.sub(lambda m: "<" + _ZWSP + m.group(1), text)


@functools.lru_cache(maxsize=4096)  # knowledge text repeats on every answer; bounded for user-derived text
def clean(text: str) -> str:
    """Text from the knowledge base or the core, made safe to post: no pings, no credentials."""
    return neutralise_mentions(redact_credentials(text))


def quote_inline(user_text: str, limit: int = 200) -> str:
    """User text as inline code that cannot break out: backticks and newlines replaced, mentions broken.

    The backtick becomes U+02CB (a look-alike) because Discord has no escape inside code spans.
    """
    text = redact_credentials(user_text).replace("`", "\u02cb")
    text = " ".join(text.split())  # newlines would end the span
    text = neutralise_mentions(text)
    text = truncate(text, max(limit - 2, 2))
    return f"`{text or ' '}`"


def _cut_on_boundary(text: str, room: int) -> str:
    cut = text[: max(room, 0)]
    if room < len(text) and text[room].isspace():
        return cut.rstrip()  # the cut already falls on a boundary
    boundary = max(cut.rfind("\n"), cut.rfind(" "))
    if boundary > len(cut) // 2:  # don't throw away more than half for the sake of a boundary
        cut = cut[:boundary]
    return cut.rstrip()


def truncate(text: str, limit: int) -> str:
    """`text` cut to at most `limit` characters on a line or word boundary, ending in "…".

    A ``` fence left open by the cut gets closed, so the rest of the message does not render as code.
    """
    if limit <= 0:
        return ""
    if len(text) <= limit:
        return text
    if limit == 1:
        return ELLIPSIS
    cut = _cut_on_boundary(text, limit - 1)
    if cut.count(_FENCE) % 2:
        closing = "\n" + _FENCE
        cut = _cut_on_boundary(text, limit - 1 - len(closing))
        if cut.count(_FENCE) % 2:
            return cut + ELLIPSIS + closing
    return cut + ELLIPSIS


# --------------------------------------------------------------------------- layout


@dataclass(slots=True)
class EmbedLayout:
    """An embed as plain data, before it is fitted to limits and turned into `discord.Embed`."""

    title: str
    description: str = ""
    fields: list[tuple[str, str]] = field(default_factory=list)
    footer: str = ""
    colour: int = SEVERITY_COLOURS["info"]

    def size(self) -> int:
        """Characters that count towards the 6000 limit, as `len(discord.Embed)` counts them."""
        return (
            len(self.title)
            + len(self.description)
            + len(self.footer)
            + sum(len(n) + len(v) for n, v in self.fields)
        )

    def clamp(self) -> None:
        """Cut every part to its own limit."""
        self.title = truncate(self.title.strip() or "netexplain", TITLE_LIMIT)
        self.description = truncate(self.description, DESCRIPTION_LIMIT)
        self.footer = truncate(self.footer, FOOTER_LIMIT)
        if len(self.fields) > FIELD_COUNT_LIMIT:
            hidden = len(self.fields) - (FIELD_COUNT_LIMIT - 1)
            self.fields = [*self.fields[: FIELD_COUNT_LIMIT - 1], ("More", f"…and {hidden} more sections.")]
        # Discord rejects empty field names or values.
        self.fields = [
            (
                truncate(n.strip() or "\u200b", FIELD_NAME_LIMIT),
                truncate(v.strip() or "\u200b", FIELD_VALUE_LIMIT),
            )
            for n, v in self.fields
        ]

    def to_embed(self) -> discord.Embed:
        """The `discord.Embed` for this layout."""
        embed = discord.Embed(title=self.title, description=self.description or None, colour=self.colour)
        for name, value in self.fields:
            embed.add_field(name=name, value=value, inline=False)
        if self.footer:
            embed.set_footer(text=self.footer)
        return embed


def fit(layouts: Sequence[EmbedLayout], total: int = TOTAL_LIMIT) -> list[EmbedLayout]:
    """Fit layouts to every limit: per part, 10 embeds, and `total` characters over all of them.

    Cuts the longest text first, so short facts survive and long prose gives way.
    """
    kept = list(layouts[:EMBED_COUNT_LIMIT])
    for layout in kept:
        layout.clamp()
    for _ in range(500):  # each round shrinks something; the bound only guards against a logic slip
        excess = sum(lay.size() for lay in kept) - total
        if excess <= 0:
            return kept
        # candidates: (length, embed index, field index or -1 for the description)
        candidates = [(len(lay.description), i, -1) for i, lay in enumerate(kept)]
        candidates += [(len(v), i, j) for i, lay in enumerate(kept) for j, (_, v) in enumerate(lay.fields)]
        length, i, j = max(candidates)
        if length <= 40:
            # Everything is already short: drop whole fields, then whole embeds, from the end.
            victim = kept[-1]
            if victim.fields:
                victim.fields.pop()
            elif len(kept) > 1:
                kept.pop()
            else:
                victim.title = truncate(victim.title, 100)
                victim.footer = truncate(victim.footer, 100)
                victim.description = truncate(victim.description, 40)
            continue
        new_length = max(length - excess, length // 2, 40)
        if j < 0:
            kept[i].description = truncate(kept[i].description, new_length)
        else:
            name, value = kept[i].fields[j]
            kept[i].fields[j] = (name, truncate(value, new_length))
    raise AssertionError("fit() did not converge")  # pragma: no cover


@functools.lru_cache(maxsize=1024)
def source_short_name(title: str) -> str:
    """A reference's short name for the footer: "RFC 6335: Internet Assigned…" -> "RFC 6335"."""
    short = re.split(r":| \(| — | – | - ", title, maxsplit=1)[0].strip()
    return truncate(short or title.strip(), 40)


def severity_of(explanation: Explanation) -> Severity:
    """`error` for socket errors and invalid addresses or ports, `info` otherwise, `help` for nothing."""
    if not explanation.findings:
        return "help"
    for finding in explanation.findings:
        if finding.kind == "error":
            return "error"
        if finding.address is not None and finding.address.category == "invalid":
            return "error"
        if finding.port is not None and finding.port.range == "invalid":
            return "error"
    return "info"


def _sources_footer(answers: Iterable[Answer]) -> str:
    names = dict.fromkeys(source_short_name(ref.title) for answer in answers for ref in answer.references)
    return "Sources: " + " · ".join(names) if names else ""


def answer_layout(
    answer: Answer, *, os: str | None = None, severity: Severity = "info", links: bool = True
) -> EmbedLayout:
    """One answer as an embed: summary, general sections, the chosen OS's commands, and its sources
    once: as "Read more" links (`links`), or else by short name in the footer."""
    general = [s for s in answer.sections if s.os is None]
    per_os = [s for s in answer.sections if s.os is not None]
    fields = [(clean(s.heading), clean(s.body)) for s in general]
    if per_os:
        chosen = [s for s in per_os if s.os == os]
        if chosen:
            fields += [
                (f"{clean(s.heading)} ({OS_LABELS.get(s.os or '', s.os)})", clean(s.body)) for s in chosen
            ]
        else:
            systems = ", ".join(OS_LABELS.get(o, o) for o in dict.fromkeys(s.os or "" for s in per_os))
            fields.append(("Commands", f"Pick your system below for the commands ({systems})."))
    urls = [
        f"[{clean(r.title)}]({r.url})" for r in answer.references if r.url.startswith(("https://", "http://"))
    ]
    if links and urls:
        fields.append(("Read more", "\n".join(urls)))
    return EmbedLayout(
        title=clean(answer.title),
        description=clean(answer.summary),
        fields=fields,
        footer="" if links and urls else _sources_footer([answer]),
        colour=SEVERITY_COLOURS[severity],
    )


def compact_layout(explanation: Explanation) -> EmbedLayout:
    """The short embed for unasked replies in watched channels: the lead alone, no sections."""
    answer = explanation.answer
    description = truncate(clean(answer.summary), COMPACT_SUMMARY)
    if len(explanation.parts) > 1:
        description += "\n*Mention me for the full answer.*"
    return EmbedLayout(
        title=clean(answer.title),
        description=description,
        footer=_sources_footer([answer]),
        colour=SEVERITY_COLOURS[severity_of(explanation)],
    )


@dataclass(frozen=True, slots=True)
class Rendered:
    """What to send for an explanation: embeds, plus what the view needs for its buttons."""

    embeds: list[discord.Embed]
    more: tuple[Answer, ...] = ()  # parts not shown, behind the "More" button
    systems: tuple[str, ...] = ()  # OS ids with per-OS commands in the shown parts

    def payload_size(self) -> int:
        """Total characters over all embeds (for tests and logs)."""
        return sum(len(e) for e in self.embeds)


def shown_parts(explanation: Explanation) -> tuple[tuple[Answer, ...], tuple[Answer, ...]]:
    """(the answer shown, the full answers behind "More": each thing found, with its sources).

    Nothing waits behind "More" when the answer already is the one part, whole.
    """
    parts = explanation.parts
    if len(parts) == 1 and parts[0] == explanation.answer:
        return (explanation.answer,), ()
    return (explanation.answer,), parts


def _systems(answers: Iterable[Answer]) -> tuple[str, ...]:
    found = {s.os for a in answers for s in a.sections if s.os is not None}
    return tuple(o for o in OS_LABELS if o in found)


def render_answers(
    answers: Sequence[Answer], *, os: str | None = None, severity: Severity = "info", links: bool = True
) -> list[discord.Embed]:
    """Up to 10 answers as embeds within every limit (`links`: sources as links, else by name)."""
    layouts = [answer_layout(a, os=os, severity=severity, links=links) for a in answers]
    return [lay.to_embed() for lay in fit(layouts)]


def render_explanation(explanation: Explanation, *, os: str | None = None) -> Rendered:
    """The full reply for an explanation: the answer in one embed, its sources named in the footer; the
    full answer of each thing found, with links to its sources, waits behind "More"."""
    shown, more = shown_parts(explanation)
    links = not more  # with nothing behind "More", the links are shown here
    embeds = render_answers(shown, os=os, severity=severity_of(explanation), links=links)
    return Rendered(embeds=embeds, more=more, systems=_systems(shown))


def render_compact(explanation: Explanation) -> Rendered:
    """The compact reply for watched channels."""
    return Rendered(embeds=[lay.to_embed() for lay in fit([compact_layout(explanation)])])


HELP_EXAMPLES = (
    "127.0.0.1:62893",
    "http://localhost:5173",
    "connect ECONNREFUSED ::1:5432",
    "port 5432",
    "what is an ephemeral port?",
)


def render_help(*, note: str | None = None) -> discord.Embed:
    """The short help shown when there was nothing to explain."""
    examples = "\n".join(f"• {quote_inline(e)}" for e in HELP_EXAMPLES)
    description = (
        "I explain addresses, ports, URLs and socket errors pasted into chat. Mention me with one, "
        "DM me, use `/explain`, or right-click a message → Apps → **Explain this message**.\n\n"
        f"For example:\n{examples}\n\n"
        "I only read messages addressed to me (and watched channels, if a server enables them), "
        "store only server settings, and never look addresses up on the internet."
    )
    if note:
        description = clean(note) + "\n\n" + description
    layout = EmbedLayout(
        title="Nothing to explain here", description=description, colour=SEVERITY_COLOURS["help"]
    )
    return fit([layout])[0].to_embed()


def render_notice(text: str, *, title: str = "netexplain") -> discord.Embed:
    """A one-off informational embed (settings confirmations, about); `text` is ours, not a user's."""
    layout = EmbedLayout(title=title, description=text, colour=SEVERITY_COLOURS["help"])
    return fit([layout])[0].to_embed()


# --------------------------------------------------------------------------- buttons

MAX_LIVE_VIEWS = 1000  # answers whose buttons work at once; each keeps its question (<= 4,000 chars)
EXPIRED_BUTTONS = (
    "These buttons have expired (answers keep them for 10 minutes). "
    "Mention me, DM me or use `/explain` to get a fresh answer."
)


class LiveViews:
    """The answer views that are listening, at most `capacity`: the oldest stops first.

    discord.py keeps every view until its timeout, so a burst of answers would otherwise hold a view
    per answer for 10 minutes. A click on a view stopped this way, or on any
    view from before a restart, is told the buttons expired (`knows` is False for it); views that
    ended normally (timed out, answer deleted) are remembered a while longer, so their last clicks
    don't get that message.
    """

    def __init__(self, capacity: int = MAX_LIVE_VIEWS) -> None:
        self.capacity = capacity
        self._live: OrderedDict[str, AnswerView] = OrderedDict()
        self._by_message: dict[int, str] = {}
        self._ended: OrderedDict[str, None] = OrderedDict()

    def __len__(self) -> int:
        return len(self._live)

    @contextlib.contextmanager
    def sending(self, view: AnswerView | None) -> Iterator[None]:
        """Around a send of `view`: live before it returns (a click may come first), stopped on failure."""
        if view is None:
            yield
            return
        self._add(view)
        try:
            yield
        except BaseException:
            view.stop()
            raise

    def sent(self, view: AnswerView, message: discord.Message | discord.InteractionMessage) -> None:
        """The message that carries `view` (for `release` when it is edited or deleted)."""
        if isinstance(message, discord.InteractionMessage):
            view.message = message  # edited through the interaction's webhook
        else:  # ids are enough to edit it later; the parsed message (and its reply) would stay in memory
            view.message = message.channel.get_partial_message(message.id)
        if view.token in self._live:
            self._by_message[message.id] = view.token

    def _add(self, view: AnswerView) -> None:
        view.live_in = self
        self._live[view.token] = view
        while len(self._live) > self.capacity:
            _, oldest = self._live.popitem(last=False)
            self._forget_message(oldest)
            oldest.stop()  # no longer live, so `ended` doesn't record it: its clicks hear "expired"

    def release(self, message_id: int) -> None:
        """Stop the view on a message that is about to be edited or deleted."""
        view = self._live.get(self._by_message.get(message_id, ""))
        if view is not None:
            view.stop()

    def ended(self, view: AnswerView) -> None:
        """A view stopped or timed out by itself."""
        if self._live.pop(view.token, None) is None:
            return
        self._forget_message(view)
        self._ended[view.token] = None
        while len(self._ended) > self.capacity:
            self._ended.popitem(last=False)

    def stop_all(self) -> None:
        """Stop every live view (the bot is closing)."""
        for view in list(self._live.values()):
            view.stop()

    def knows(self, custom_id: str) -> bool:
        """Whether a `netexplain:` button belongs to a view that is listening or ended normally."""
        token = custom_id.rsplit(":", 1)[-1]
        return token in self._live or token in self._ended

    def _forget_message(self, view: AnswerView) -> None:
        if view.message is not None and self._by_message.get(view.message.id) == view.token:
            del self._by_message[view.message.id]


LIVE_VIEWS = LiveViews()


class AnswerView(discord.ui.View):
    """Buttons under an answer: per-OS commands and Delete (asker only), More (anyone, private reply).

    The view keeps the question, not its explanation: a crafted 4,000-character message holds hundreds
    of findings, each with its answer, about 1 MiB in all, and a thousand live views would keep a GiB.
    A click explains the question again (milliseconds, and the same answer from the same knowledge).
    Errors go to the client's central handler (`report_interaction_error`) when it has one.
    """

    def __init__(
        self,
        explanation: Explanation,
        *,
        kb: Knowledge,
        asker_id: int,
        os: str | None = None,
        timeout: float | None = 600.0,
        deletable: bool = True,
        rendered: Rendered | None = None,
    ) -> None:
        """`explanation` is `explain(explanation.query, kb)` (in full, not brief); `rendered` is the
        `render_explanation(explanation, os=os)` being sent, if already made."""
        super().__init__(timeout=timeout)
        if explanation.brief:
            raise ValueError("a brief explanation has no sections: buttons need the full one")
        self.question = explanation.query
        self.kb = kb
        self.asker_id = asker_id
        self.os = os
        self.message: discord.PartialMessage | discord.InteractionMessage | None = None
        self._asker_only: set[str] = set()
        self.live_in: LiveViews | None = None  # set when sent
        if rendered is None:
            rendered = render_explanation(explanation, os=os)
        self.token = token = secrets.token_hex(4)  # unique ids: views on different messages never collide
        for system in rendered.systems:
            button: discord.ui.Button[AnswerView] = discord.ui.Button(
                label=OS_LABELS[system],
                style=discord.ButtonStyle.primary if system == os else discord.ButtonStyle.secondary,
                custom_id=f"netexplain:os:{system}:{token}",
            )
            button.callback = self._os_callback(system)  # type: ignore[method-assign]
            self._asker_only.add(button.custom_id or "")
            self.add_item(button)
        if rendered.more:
            more: discord.ui.Button[AnswerView] = discord.ui.Button(
                label=f"More ({len(rendered.more)})",
                style=discord.ButtonStyle.secondary,
                custom_id=f"netexplain:more:{token}",
            )
            more.callback = self._more  # type: ignore[method-assign]
            self.add_item(more)
        if deletable:
            delete: discord.ui.Button[AnswerView] = discord.ui.Button(
                label="Delete", style=discord.ButtonStyle.danger, custom_id=f"netexplain:delete:{token}"
            )
            delete.callback = self._delete  # type: ignore[method-assign]
            self._asker_only.add(delete.custom_id or "")
            self.add_item(delete)

    def explanation(self) -> Explanation:
        """The answer's explanation, made again from its question."""
        return explain(self.question, self.kb)

    @property
    def has_buttons(self) -> bool:
        """False when the view would be empty (then send no view at all)."""
        return bool(self.children)

    def stop(self) -> None:
        """Stop listening (and leave the live set)."""
        super().stop()
        if self.live_in is not None:
            self.live_in.ended(self)

    async def interaction_check(self, interaction: discord.Interaction[Any]) -> bool:
        """OS choice and Delete belong to the asker; More is for anyone."""
        custom_id = str((interaction.data or {}).get("custom_id", ""))
        if custom_id in self._asker_only and interaction.user.id != self.asker_id:
            await interaction.response.send_message(
                "Only the person who asked can use this button.", ephemeral=True
            )
            return False
        return True

    def _os_callback(self, system: str) -> Any:
        async def callback(interaction: discord.Interaction[Any]) -> None:
            self.os = system
            for item in self.children:
                if isinstance(item, discord.ui.Button) and (item.custom_id or "").startswith(
                    "netexplain:os:"
                ):
                    chosen = (item.custom_id or "").split(":")[2] == system
                    item.style = discord.ButtonStyle.primary if chosen else discord.ButtonStyle.secondary
            rendered = render_explanation(self.explanation(), os=system)
            await interaction.response.edit_message(embeds=rendered.embeds, view=self)

        return callback

    async def _more(self, interaction: discord.Interaction[Any]) -> None:
        explanation = self.explanation()
        _, more = shown_parts(explanation)
        embeds = render_answers(more[:EMBED_COUNT_LIMIT], os=self.os, severity=severity_of(explanation))
        hidden = len(more) - len(embeds)
        content = f"…and {hidden} more not shown." if hidden > 0 else None
        await interaction.response.send_message(content=content, embeds=embeds, ephemeral=True)

    async def _delete(self, interaction: discord.Interaction[Any]) -> None:
        await interaction.response.defer()
        self.stop()
        if interaction.message is not None:
            try:
                await interaction.message.delete()
                return
            except discord.Forbidden:
                pass  # user-installed app in a server it is not in: delete through the interaction
        await interaction.delete_original_response()

    async def on_timeout(self) -> None:
        """Take the buttons off when they stop working, so nobody clicks a dead button."""
        if self.live_in is not None:
            self.live_in.ended(self)
        if self.message is not None:
            # message gone or no longer editable: nothing to clean up
            with contextlib.suppress(discord.HTTPException):
                await self.message.edit(view=None)

    async def on_error(
        self, interaction: discord.Interaction[Any], error: Exception, item: discord.ui.Item[Any]
    ) -> None:
        """Hand the error to the client's one handler, or log it."""
        report = getattr(interaction.client, "report_interaction_error", None)
        if report is not None:
            await report(interaction, error, where=f"button {getattr(item, 'custom_id', item)!s}")
        else:  # pragma: no cover - only without NetexplainBot
            log.exception("button failed", exc_info=error)

"""Rendering: every answer fits Discord's limits, and user text can't ping or break out of its quote."""

from __future__ import annotations

import discord
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.core.knowledge import Knowledge
from bot.core.model import AddressInfo, Answer, Explanation, Finding, PortInfo, Reference, Section
from bot.render import (
    CONTENT_LIMIT,
    DESCRIPTION_LIMIT,
    EMBED_COUNT_LIMIT,
    FIELD_COUNT_LIMIT,
    FIELD_NAME_LIMIT,
    FIELD_VALUE_LIMIT,
    FOOTER_LIMIT,
    PARTS_SHOWN,
    SEVERITY_COLOURS,
    TITLE_LIMIT,
    TOTAL_LIMIT,
    AnswerView,
    LiveViews,
    clean,
    neutralise_mentions,
    quote_inline,
    render_answers,
    render_compact,
    render_explanation,
    render_help,
    severity_of,
    source_short_name,
    truncate,
)

# Text that stresses the limits: long runs, newlines, fences, mentions, non-ASCII.
text = st.lists(
    st.sampled_from([*"ab c\n`@<>#&!:/", "```", "@everyone", "<@123>", "é", "🔎", "word "]), max_size=600
).map("".join)
long_text = st.one_of(text, st.integers(0, 9000).map(lambda n: ("lorem ipsum " * 800)[:n]))
sections = st.builds(
    Section,
    heading=long_text,
    body=long_text,
    os=st.sampled_from([None, None, "linux", "macos", "windows"]),
)
references = st.builds(
    Reference, title=long_text, url=st.sampled_from(["https://www.rfc-editor.org/rfc/rfc6335", "x"])
)
answers = st.builds(
    Answer,
    title=long_text,
    summary=long_text,
    sections=st.lists(sections, max_size=40).map(tuple),
    references=st.lists(references, max_size=8).map(tuple),
)


def assert_within_limits(embeds: list[discord.Embed]) -> None:
    assert 1 <= len(embeds) <= EMBED_COUNT_LIMIT
    assert sum(len(e) for e in embeds) <= TOTAL_LIMIT
    for embed in embeds:
        assert embed.title and len(embed.title) <= TITLE_LIMIT
        assert len(embed.description or "") <= DESCRIPTION_LIMIT
        assert len(embed.fields) <= FIELD_COUNT_LIMIT
        for f in embed.fields:
            assert f.name and len(f.name) <= FIELD_NAME_LIMIT
            assert f.value and len(f.value) <= FIELD_VALUE_LIMIT
        assert len(embed.footer.text or "") <= FOOTER_LIMIT


def explanation_of(parts: list[Answer], findings: tuple[Finding, ...] | None = None) -> Explanation:
    if findings is None:
        findings = tuple(Finding(kind="term", text=f"t{i}", span=(0, 1), term="x") for i in range(len(parts)))
    combined = parts[0] if parts else Answer(title="t", summary="s")
    return Explanation(query="q", findings=findings, triggered=True, answer=combined, parts=tuple(parts))


@settings(max_examples=150, deadline=None)
@given(st.lists(answers, min_size=1, max_size=14), st.sampled_from([None, "linux", "macos", "windows"]))
def test_any_explanation_renders_within_discord_limits(parts: list[Answer], os: str | None) -> None:
    exp = explanation_of(parts)
    rendered = render_explanation(exp, os=os)
    assert_within_limits(rendered.embeds)
    assert len(rendered.embeds) == PARTS_SHOWN == 1  # the answer is one embed
    # each thing's full answer waits behind "More", unless the answer already is the one part, whole
    assert rendered.more == (() if len(parts) == 1 else tuple(parts))
    assert_within_limits(render_compact(exp).embeds)
    assert_within_limits(render_answers(parts[:EMBED_COUNT_LIMIT]))


@settings(max_examples=300, deadline=None)
@given(long_text, st.integers(0, 5000))
def test_truncate_never_exceeds_the_limit_and_closes_fences(value: str, limit: int) -> None:
    out = truncate(value, limit)
    assert len(out) <= limit
    if len(value) <= limit:
        assert out == value
    elif limit >= 10:
        assert out.endswith(("…", "…\n```"))
        # a fence the cut opened is closed again (the original's own balance is kept otherwise)
        if "```" in out and value.count("```") % 2 == 0:
            assert out.count("```") % 2 == 0


def test_truncate_cuts_on_a_word_boundary() -> None:
    assert truncate("the quick brown fox jumps", 16) == "the quick brown…"


@settings(max_examples=300, deadline=None)
@given(text)
def test_quoted_user_text_is_one_inline_code_span_that_pings_nobody(value: str) -> None:
    quoted = quote_inline(value, limit=300)
    assert len(quoted) <= 300
    assert quoted.startswith("`") and quoted.endswith("`")
    inner = quoted[1:-1]
    assert "`" not in inner and "\n" not in inner
    assert "@everyone" not in inner and "@here" not in inner
    assert "<@" not in inner and "<#" not in inner


def test_quote_neutralises_everyone_backticks_and_code_block_breakout() -> None:
    quoted = quote_inline("```\n@everyone <@&42> <#7> `rm -rf` ```")
    assert "```" not in quoted
    assert quoted.count("`") == 2
    assert "@everyone" not in quoted and "<@&42>" not in quoted and "<#7>" not in quoted


def test_url_credentials_are_redacted() -> None:
    assert "hunter2" not in quote_inline("postgres://admin:hunter2@localhost:5432/db")
    assert clean("see https://bob:secret@example.com/x") == "see https://***@example.com/x"


def test_mentions_in_knowledge_text_are_broken() -> None:
    assert neutralise_mentions("hi @everyone and @here, <@1> <@!2> <@&3> <#4>").count("\u200b") == 6


def test_per_os_sections_show_only_the_chosen_system() -> None:
    answer = Answer(
        title="Port 5432",
        summary="PostgreSQL.",
        sections=(
            Section("Who is listening", "ss -ltnp 'sport = :5432'", "linux"),
            Section("Who is listening", "lsof -nP -iTCP:5432 -sTCP:LISTEN", "macos"),
            Section("Who is listening", "netstat -ano | findstr :5432", "windows"),
            Section("Why", "Registered port."),
        ),
    )
    exp = explanation_of([answer])
    default = render_explanation(exp)
    assert default.systems == ("linux", "macos", "windows")
    values = " ".join(f.value for f in default.embeds[0].fields)
    assert "ss -ltnp" not in values and "Pick your system" in values
    mac = " ".join(f.value for f in render_explanation(exp, os="macos").embeds[0].fields)
    assert "lsof" in mac and "ss -ltnp" not in mac and "findstr" not in mac


def test_many_findings_show_one_answer_and_each_in_full_behind_more() -> None:
    parts = [Answer(title=f"Finding {i}", summary="s") for i in range(7)]
    exp = explanation_of(parts)._replace(answer=Answer(title="The cause", summary="s"))
    rendered = render_explanation(exp)
    assert [e.title for e in rendered.embeds] == ["The cause"]
    assert [a.title for a in rendered.more] == [f"Finding {i}" for i in range(7)]


async def test_view_has_os_more_and_delete_buttons_with_unique_ids(kb: Knowledge) -> None:
    parts = [
        Answer(
            title=f"F{i}",
            summary="s",
            sections=(Section("cmd", "x", "linux"), Section("cmd", "y", "windows")),
        )
        for i in range(4)
    ]
    view = AnswerView(explanation_of(parts), kb=kb, asker_id=1)
    labels = [getattr(c, "label", None) for c in view.children]
    assert labels == ["Linux", "Windows", "More (4)", "Delete"]
    other = AnswerView(explanation_of(parts), kb=kb, asker_id=1)
    ids = {getattr(c, "custom_id", None) for c in view.children}
    assert ids.isdisjoint({getattr(c, "custom_id", None) for c in other.children})


async def test_at_most_capacity_views_listen_and_the_oldest_stop_first(kb: Knowledge) -> None:
    live = LiveViews(capacity=2)
    parts = [Answer(title="F", summary="s", sections=(Section("cmd", "x", "linux"),))]
    views = [AnswerView(explanation_of(parts), kb=kb, asker_id=1) for _ in range(4)]
    delete_ids = [str(getattr(v.children[-1], "custom_id", "")) for v in views]
    for view in views[:3]:
        with live.sending(view):
            pass
    assert len(live) == 2 and views[0].is_finished() and not views[1].is_finished()
    assert not live.knows(delete_ids[0])  # stopped to make room: its clicks hear "expired"
    assert live.knows(delete_ids[1]) and live.knows(delete_ids[2])
    views[1].stop()  # ended by itself (deleted): still known, no longer listening
    assert len(live) == 1 and live.knows(delete_ids[1])
    with pytest.raises(RuntimeError), live.sending(views[3]):
        raise RuntimeError("the send failed")
    assert views[3].is_finished() and len(live) == 1


def test_errors_are_red_and_information_is_blurple() -> None:
    answer = Answer(title="t", summary="s")
    error = Finding(kind="error", text="ECONNREFUSED", span=(0, 12), error="ECONNREFUSED")
    loopback = Finding(
        kind="endpoint",
        text="127.0.0.1:62893",
        span=(0, 15),
        host="127.0.0.1",
        address=AddressInfo(ip="127.0.0.1", version=4, category="loopback"),
        port=PortInfo(number=62893, range="dynamic", ephemeral_on=("windows",), services=()),
    )
    assert severity_of(explanation_of([answer], (error, loopback))) == "error"
    assert severity_of(explanation_of([answer], (loopback,))) == "info"
    embed = render_explanation(explanation_of([answer], (error,))).embeds[0]
    assert embed.colour is not None and embed.colour.value == SEVERITY_COLOURS["error"]


def test_footer_names_the_sources_briefly() -> None:
    answer = Answer(
        title="t",
        summary="s",
        references=(
            Reference("RFC 6335: IANA Procedures for the Management of the Service Name", "https://x"),
            Reference("IANA Service Name and Transport Protocol Port Number Registry", "https://y"),
        ),
    )
    more = Answer(title="u", summary="v")
    footer = render_explanation(explanation_of([answer, more])).embeds[0].footer.text or ""
    assert footer.startswith("Sources: RFC 6335 · IANA Service Name")
    assert source_short_name("Linux kernel docs (ip-sysctl)") == "Linux kernel docs"


def test_sources_are_listed_once_as_links_or_as_names_never_both() -> None:
    answer = Answer(title="t", summary="s", references=(Reference("RFC 6335: IANA Procedures", "https://x"),))
    for parts in ([answer], [answer, Answer(title="u", summary="v")]):
        [embed] = render_explanation(explanation_of(parts)).embeds
        links = [f for f in embed.fields if f.name == "Read more"]
        assert bool(links) != bool(embed.footer.text), (links, embed.footer.text)


def test_help_fits_and_quotes_its_examples() -> None:
    embed = render_help(note="I can't see that message.")
    assert_within_limits([embed])
    assert "`127.0.0.1:62893`" in (embed.description or "")
    assert len(embed.description or "") < CONTENT_LIMIT

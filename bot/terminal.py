"""Renders an explanation for a person at a terminal: plain text, with colour when it is a TTY."""

from __future__ import annotations

import textwrap
from collections.abc import Sequence

from bot.core.model import Explanation, Finding

_BOLD, _DIM, _CYAN, _RESET = "\x1b[1m", "\x1b[2m", "\x1b[36m", "\x1b[0m"
WIDTH = 100


def _style(text: str, code: str, color: bool) -> str:
    return f"{code}{text}{_RESET}" if color else text


def _wrap(text: str, indent: str = "  ") -> str:
    out = []
    for para in text.split("\n"):
        if not para.strip():
            out.append("")
            continue
        lead = indent + ("  " if para.lstrip().startswith("- ") else "")
        out.append(textwrap.fill(para.strip(), WIDTH, initial_indent=indent, subsequent_indent=lead))
    return "\n".join(out)


def describe_finding(f: Finding) -> str:
    """One short line naming what a finding is."""
    bits = [f.kind]
    if f.address is not None:
        bits.append(f.address.category)
    if f.port is not None:
        bits.append(f"port {f.port.number} {f.port.range}")
    if f.network is not None:
        bits.append(f"{f.network.category}, {f.network.size:,} addresses")
    if f.error:
        bits.append(f.error)
    if f.term:
        bits.append(f.term)
    if f.program:
        bits.append(f"program {f.program}")
    return f"{f.text!r} ({', '.join(bits)})"


def render_explanation(exp: Explanation, *, color: bool = False) -> str:
    """The whole answer as terminal text."""
    answer = exp.answer
    lines = [_style(answer.title, _BOLD, color), _wrap(answer.summary, ""), ""]
    if exp.read is not None and exp.findings:
        lines += [
            _style(f"(Only the first {exp.read:,} of {len(exp.query):,} characters were read.)", _DIM, color),
            "",
        ]
    if exp.findings:
        lines.append(_style("Found:", _DIM, color))
        lines += [f"  - {describe_finding(f)}" for f in exp.findings[:12]]
        if len(exp.findings) > 12:
            lines.append(f"  … and {len(exp.findings) - 12} more")
        lines.append("")
    for section in answer.sections:
        heading = f"On {section.heading}" if section.os else section.heading
        lines += [_style(heading, _CYAN, color), _wrap(section.body), ""]
    if answer.references:
        lines.append(_style("Sources", _DIM, color))
        lines += [f"  - {r.title}: {r.url}" for r in answer.references]
    return "\n".join(lines).rstrip() + "\n"


def render_scan_line(number: int, findings: Sequence[Finding]) -> str:
    """One line of `netexplain scan` output."""
    found = "; ".join(describe_finding(f) for f in findings)
    return f"{number}: {found}"

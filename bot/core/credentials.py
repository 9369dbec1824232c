"""Where the credentials of a URL stand in a text, so that no front end ever echoes them.

RFC 3986 §3.2 reads an authority as `[userinfo "@"] host [":" port]`, and URL parsers (the WHATWG URL
Standard, urllib, libpq) end the authority at the first "/", "?" or "#" and the user-info at the
*last* "@" before that: in `postgres://admin:p@ss@db:5432/app` the user-info is `admin:p@ss`. People
also paste passwords with an unescaped "/", "?" or "#" (`redis://:pa/ss3@127.0.0.1:6379`), which no
parser reads as they meant. So the rule here errs towards hiding:

- within a run of non-space characters after `scheme://`, when no "@" follows the authority, the
  user-info ends at the authority's last "@" (as every parser reads it);
- when an "@" does follow (`/…@…`), the text before it is kept as a path only when the authority
  holds no "@" and is plainly a host: a dotted name, an address or `localhost`
  (`https://unpkg.com/react@18/`), or a host with a port number whose later "@"s all open a path
  segment (Vite's `http://web:5173/@vite/client`). Otherwise everything up to the run's last "@" is
  user-info.

So what can still show is only a password that starts with a number and an unescaped "/", "?" or "#"
(`user:5432/x@db`, which reads as host `user`, port 5432), and only when the user name is a dotted
name or the password ends in "/": URLs themselves look like that.

Everything is found in one pass: `://` by substring search, the scheme by walking back over its
characters, each run's end and last "@" once per run, so the time is linear in the text.
"""

from __future__ import annotations

import re
from typing import NamedTuple

REDACTED = "***"
_SCHEME_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+.-")
_SPACE = re.compile(r"\s")
_AUTHORITY_END = re.compile(r"[/?#]")


def _has_scheme(text: str, at: int) -> bool:
    """Whether the characters before the `://` at `at` are a scheme (scheme characters, one a letter)."""
    i = at - 1
    while i >= 0 and text[i] in _SCHEME_CHARS:
        if text[i].isalpha():
            return True
        i -= 1
    return False


class _HostPort(NamedTuple):
    host: str
    bracketed: bool
    port: bool


def _host_port(authority: str) -> _HostPort | None:
    """`authority` read as `host` or `host:port` with a port number, else None.

    (A colon with no number after it, as in `user:/pa@ss`, is not a port: that reads as user-info.)
    """
    bracketed = authority.startswith("[")
    if bracketed:
        close = authority.find("]")
        if close < 2:
            return None
        host, rest = authority[1:close], authority[close + 1 :]
    else:
        colon = authority.find(":")
        host, rest = (authority, "") if colon < 0 else (authority[:colon], authority[colon:])
        if not host or not all(c.isalnum() or c in ".-_~%" for c in host):
            return None
    port = rest[1:]
    if rest and not (rest[0] == ":" and port.isascii() and port.isdigit() and len(port) <= 5):
        return None
    return _HostPort(host, bracketed, bool(rest))


def _plainly_a_host(host: str, bracketed: bool) -> bool:
    """A dotted name with a top-level domain, a dotted address, an IPv6 literal or `localhost`."""
    if bracketed:
        return True
    name = host.lower().rstrip(".")
    if name == "localhost" or name.endswith(".localhost"):
        return True
    if "." not in name:
        return False
    last = name.rsplit(".", 1)[1]
    return (last.isalpha() and len(last) >= 2) or (name.replace(".", "").isdigit() and name.count(".") == 3)


def userinfo_spans(text: str) -> list[tuple[int, int]]:
    """The `[start, end)` of every URL's user-info in `text`; `end` is the index of the "@" after it."""
    spans: list[tuple[int, int]] = []
    if "@" not in text or "://" not in text:
        return spans
    run_end = -1  # the run of non-space characters being read: where it ends, its last "@"s
    last_at = last_bare_at = -1  # its last "@", and its last "@" that does not follow a "/"
    at = text.find("://")
    while at >= 0:
        start = at + 3
        if not _has_scheme(text, at):
            at = text.find("://", start)
            continue
        if start > run_end:
            space = _SPACE.search(text, start)
            run_end = space.start() if space else len(text)
            last_at = last_bare_at = text.rfind("@", start, run_end)
            while last_bare_at > start and text[last_bare_at - 1] == "/":
                last_bare_at = text.rfind("@", start, last_bare_at)
        if last_at < start:
            at = text.find("://", start)
            continue
        end_match = _AUTHORITY_END.search(text, start, run_end)
        authority_end = end_match.start() if end_match else run_end
        at_in_authority = text.rfind("@", start, authority_end)
        end = at_in_authority
        if last_at >= authority_end:  # an "@" after the authority: a path, or a password with "/"?
            parsed = _host_port(text[start:authority_end]) if at_in_authority < 0 else None
            if parsed is None or not (
                _plainly_a_host(parsed.host, parsed.bracketed)
                or (parsed.port and last_bare_at < authority_end)
            ):
                end = last_at
        if end > start:  # (an empty user-info, `scheme://@host`, hides nothing)
            spans.append((start, end))
            at = text.find("://", end + 1)
        else:
            at = text.find("://", start)
    return spans


def redact_credentials(text: str) -> str:
    """`text` with every URL's user-info replaced by `***`: `scheme://***@host`."""
    spans = userinfo_spans(text)
    if not spans:
        return text
    pieces: list[str] = []
    done = 0
    for start, end in spans:
        pieces += (text[done:start], REDACTED)
        done = end
    pieces.append(text[done:])
    return "".join(pieces)


def mask_credentials(text: str, limit: int | None = None) -> str:
    """`text[:limit]` with every character of every URL's user-info replaced by `*` (same spans).

    Only as much of `text` is read as the cut needs: up to the end of the run crossing `limit`, so that
    a cut through a password leaves none of it.
    """
    if limit is not None and len(text) > limit:
        space = _SPACE.search(text, limit)
        return mask_credentials(text[: space.start() if space else len(text)])[:limit]
    spans = userinfo_spans(text)
    if not spans:
        return text
    pieces: list[str] = []
    done = 0
    for start, end in spans:
        pieces += (text[done:start], "*" * (end - start))
        done = end
    pieces.append(text[done:])
    return "".join(pieces)

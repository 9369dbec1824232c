"""Which requests a web service on this machine answers: those naming its own Host and its own Origin.

Binding 127.0.0.1 keeps other machines out, not other web pages: a page from any site, open in the same
browser, may post to ``http://127.0.0.1:PORT`` or open a websocket there (browsers apply no CORS check to
websockets), and by DNS rebinding it may reach the port under a name of its own.  Both leave a trace a
server can check: a browser always sends ``Origin`` on cross-site posts and websocket handshakes, and
after rebinding the ``Host`` header carries the attacker's name.  The playground page and the loopback
Discord both refuse such requests with these rules.
"""

from __future__ import annotations

LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")


def allowed_hosts(bind_host: str, port: int) -> frozenset[str] | None:
    """Host headers accepted by a service bound to ``bind_host:port``; None (any) off loopback.

    Bound elsewhere at the operator's explicit request, the service cannot know every name it is reached
    by, so the Host check is off there (the Origin check still applies).
    """
    if bind_host not in LOOPBACK_HOSTS:
        return None
    return frozenset(f"{h}:{port}" for h in ("127.0.0.1", "localhost", "[::1]"))


def foreign_host(host: str, allowed: frozenset[str] | None) -> bool:
    """True when the ``Host`` header is not one of the service's own names (DNS rebinding)."""
    return allowed is not None and host not in allowed


def foreign_origin(origin: str | None, host: str) -> bool:
    """True when a browser sent the request from another site than ``http://{host}``.

    Programs other than browsers (discord.py, curl) send no ``Origin``; that is not refused.
    """
    return origin is not None and origin != f"http://{host}"

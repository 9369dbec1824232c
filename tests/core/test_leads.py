# ruff: noqa: E501  (a table of pastes reads best one row a line)
"""The first line answers the paste: for each realistic paste, what an expert in a help channel would
say first, checked on the lead alone (the title and summary: all a compact reply shows).

Each row: the paste, what the lead must say (a tuple: any one of its spellings), and what it must not.
"""

from __future__ import annotations

import pytest

from bot.core import explain
from bot.core.knowledge import Knowledge

Need = str | tuple[str, ...]
# fmt: off
LEADS: list[tuple[str, list[Need], list[str]]] = [
    # refused: the address and port in the paste, and why nothing answered there
    ("connect ECONNREFUSED ::1:5432", ["::1", "5432", "ipv6", "127.0.0.1"], ["public"]),
    ('psql: error: connection to server at "localhost" (::1), port 5432 failed: Connection refused',
     ["::1", "5432", "127.0.0.1"], []),
    ("Error: connect ECONNREFUSED 127.0.0.1:6379", ["6379", "redis", ("not running", "isn't running", "isn't accepting", "nothing listens", "no redis server listens")], []),
    ("Could not connect to Redis at 127.0.0.1:6379: Connection refused", ["6379", "redis"], []),
    ("MongoNetworkError: connect ECONNREFUSED 127.0.0.1:27017", ["27017", "mongodb"], []),
    ("curl: (7) Failed to connect to localhost port 8081 after 2 ms: Couldn't connect to server", ["8081"], []),
    ("ERR_CONNECTION_REFUSED on localhost:4200", ["4200"], []),
    ("[WinError 10061] No connection could be made because the target machine actively refused it",
     [("refused", "nothing listens", "nothing is listening", "not running")], []),
    ("connect ECONNREFUSED 192.168.1.20:5432", ["192.168.1.20", "5432"], ["this machine only"]),
    ("requests.exceptions.ConnectionError: HTTPConnectionPool(host='localhost', port=11434): Max retries exceeded",
     ["11434", "ollama"], []),
    ("redis://default:hunter2@cache:6379/0 refused", ["6379"], ["hunter2"]),
    ("host.docker.internal:5432 connection refused from my container", ["5432"], []),
    # timeouts: dropped packets, not a missing listener
    ("dial tcp 10.20.0.7:6443: i/o timeout", ["10.20.0.7", ("timed out", "timeout", "no answer", "dropped")], []),
    ("connect ETIMEDOUT 172.16.4.2:443", ["172.16.4.2", ("dropped", "firewall", "no answer", "no reply")], ["127.0.0.1"]),
    ("curl: (28) Failed to connect to 10.8.0.1 port 443 after 130012 ms: Couldn't connect to server",
     ["10.8.0.1", ("timed out", "timeout", "no answer", "dropped", "no reply")], []),
    ("Error: connect ETIMEDOUT 34.117.59.81:443", ["34.117.59.81", ("timed out", "timeout", "dropped", "no answer", "no reply")], []),
    # the port is taken, or not allowed
    ("Error: listen EADDRINUSE: address already in use 0.0.0.0:5000", ["5000", ("in use", "already", "another process")], []),
    ("listen EADDRINUSE :::3000", ["3000", ("in use", "already", "another process")], []),
    ("ERROR:    [Errno 98] error while attempting to bind on address ('0.0.0.0', 8000): address already in use",
     ["8000", ("in use", "already", "another process")], []),
    ("java.net.BindException: Address already in use: bind", [("in use", "already", "another process")], []),
    ("Error: listen EACCES: permission denied 0.0.0.0:80", ["80", ("1024", "privileged", "root")], []),
    ("nginx: [emerg] bind() to 0.0.0.0:80 failed (13: Permission denied)", ["80", ("1024", "privileged", "root")], []),
    ("OSError: [WinError 10049] The requested address is not valid in its context",
     [("not valid", "does not have", "isn't one of", "not one of", "address")], []),
    # name resolution
    ("socket.gaierror: [Errno -3] Temporary failure in name resolution", [("dns", "name resolution", "resolve", "look up")], []),
    ("Error: getaddrinfo EAI_AGAIN registry.npmjs.org", ["registry.npmjs.org", ("dns", "resolve", "temporary", "look up")], []),
    ("getaddrinfo ENOTFOUND db", ["db", ("compose", "network", "service name", "container")], []),
    # listening everywhere, reaching from elsewhere, 0.0.0.0 as a destination
    ("Uvicorn running on http://0.0.0.0:8000 — is that safe?", ["0.0.0.0", ("every interface", "all interfaces", "whole network", "every ipv4 address", "other devices")],
     ["only from this machine", "this machine only", "reachable only"]),
    ("Listening on [::]:8080", ["8080", ("every", "all interfaces", "any address")], []),
    ("opened http://0.0.0.0:8000 in chrome and it doesn't load", ["localhost:8000"], []),
    ("curl http://0.0.0.0:3000 fails on windows", ["localhost:3000"], []),
    ("my friend can't open http://192.168.0.23:5173 from his laptop", ["5173", ("--host", "0.0.0.0", "127.0.0.1", "loopback", "bind")], []),
    ("wsl localhost:3000 not working from windows", ["3000", "wsl"], []),
    ("from the android emulator http://127.0.0.1:8000 is refused", ["10.0.2.2"], []),
    # containers and forwarding
    ("docker run -p 8888:80 httpd", ["8888", "80", "container"], []),
    ("docker run -p 127.0.0.1:8080:80 nginx", ["8080", ("127.0.0.1", "this machine only", "loopback")], []),
    ("0.0.0.0:3306->3306/tcp   mysql", ["3306"], []),
    ("kubectl port-forward svc/web 8080:80 then localhost:8080 hangs", ["8080"], []),
    ("Minecraft server on port 25565 not reachable from outside", ["25565", "minecraft"], []),
    ("my router says WAN IP 100.67.12.9, why can't I port forward", ["100.67.12.9", ("carrier-grade", "cgnat", "shared")], []),
    ("adb connect 192.168.1.42:5555 failed to connect", ["192.168.1.42", "5555"], []),
    # TLS and HTTP: the network is fine
    ("ERR_SSL_PROTOCOL_ERROR on https://localhost:3000", ["3000", ("http://", "plain http", "plain-http")], []),
    ("curl: (35) OpenSSL/3.0.13: error:0A00010B:SSL routines::wrong version number", [("http", "tls", "ssl")], []),
    ("GET http://localhost:3000/api 404 (Not Found)", ["404", ("route", "path", "network is fine", "server answered")], []),
    ("Access to fetch at 'http://localhost:8000/api' from origin 'http://localhost:5173' has been blocked by CORS policy",
     ["cors"], []),
    # dev tools and their ports
    ("127.0.0.1:62893", ["62893", ("this run", "picked", "ephemeral", "chosen")], []),
    ("what is 127.0.0.1:62893?", ["127.0.0.1", "62893"], []),
    ("DevTools listening on ws://127.0.0.1:9222/devtools/browser/1f3c", ["9222", "devtools"], []),
    ("The Dart VM service is listening on http://127.0.0.1:50123/abc=/", ["50123", ("dart", "flutter")], []),
    ("port 0 in bind()", ["port 0", ("pick", "free port", "any free")], ["does not pick"]),
    ("is port 49152 ephemeral on linux", ["49152", "linux"], []),
    ("port 3389 open on my server, should I worry", ["3389", ("remote desktop", "rdp")], []),
    ("what is an ephemeral port?", ["ephemeral"], []),
    # special addresses
    ("is 172.31.255.255 private?", ["172.31.255.255", "private"], ["public"]),
    ("what is 100.100.100.100 in tailscale", ["100.100.100.100", ("shared", "cgnat", "carrier-grade", "tailscale")], ["public"]),
    ("fe80::a00:27ff:fe4e:66a1%enp0s3", ["link-local", ("enp0s3", "zone", "interface")], ["public"]),
    ("what does ::ffff:10.0.0.5 mean in my access log", ["10.0.0.5", ("ipv4", "mapped")], ["public"]),
    ("what is 198.51.100.7", ["198.51.100.7", "documentation"], ["public"]),
    ("2001:db8::/32", ["2001:db8::/32", "documentation"], []),
    ("10.0.0.1/33", ["10.0.0.1/33", "not a valid"], []),
    ("what is 10.0.0.0/8", ["10.0.0.0/8", "private", "16,777,216"], []),
    ("what is 224.0.0.251", ["224.0.0.251", "multicast"], ["public"]),
    ("my ip is 169.254.12.7 and there is no internet", ["169.254.12.7", ("dhcp", "link-local")], ["public"]),
    ("curl http://169.254.169.254/latest/meta-data/ times out in my container", ["169.254.169.254", "metadata"], []),
    ("2002:c000:204::1 in my logs", ["192.0.2.4"], []),
    ("64:ff9b::c000:201 in my logs", ["192.0.2.1"], []),
    ("connect EHOSTUNREACH 192.168.50.1:80", ["192.168.50.1", ("no route", "unreachable", "nothing answers", "no device")], []),
    ("connect ECONNRESET 52.1.2.3:443", ["52.1.2.3", "reset"], []),
    ("what's the difference between 127.0.0.1 and 0.0.0.0", ["127.0.0.1"], []),
]
# fmt: on


def test_there_are_at_least_sixty_pastes() -> None:
    assert len(LEADS) >= 60
    assert len({paste for paste, _, _ in LEADS}) == len(LEADS)


@pytest.mark.parametrize(("paste", "needs", "never"), LEADS, ids=[p[:50] for p, _, _ in LEADS])
def test_the_lead_alone_answers_the_paste(
    paste: str, needs: list[Need], never: list[str], kb: Knowledge
) -> None:
    exp = explain(paste, kb)
    lead = f"{exp.answer.title}\n{exp.answer.summary}"
    said = lead.lower()
    for need in needs:
        spellings = need if isinstance(need, tuple) else (need,)
        assert any(s.lower() in said for s in spellings), (
            f"{paste!r}: the lead should say {spellings}:\n{lead}"
        )
    for word in never:
        assert word.lower() not in said, f"{paste!r}: the lead must not say {word!r}:\n{lead}"
    # the same lead in the brief answer a compact reply shows
    brief = explain(paste, kb, brief=True).answer
    assert (brief.title, brief.summary) == (exp.answer.title, exp.answer.summary)

# ruff: noqa: E501  (the pastes are copied whole: a realistic paste is one long line)
"""Each diagnosis in knowledge/diagnoses leads the answer for a realistic paste of its cause, and stays
out of the answer for a near-miss that looks alike but has another cause.

The pastes are copied from real error output and chat questions (issue threads, the dev corpus), or
written the way such output reads; none is read from outside the repository.
"""

from __future__ import annotations

import re
from functools import cache

import pytest

from bot.core import find
from bot.core.diagnose import Diagnosed, diagnose
from bot.core.knowledge import Knowledge
from bot.kb import load_knowledge


@cache
def _kb() -> Knowledge:
    return load_knowledge()


def _diagnosed(paste: str) -> tuple[Diagnosed, ...]:
    kb = _kb()
    return diagnose(paste, find(paste, kb), kb)


# (diagnosis id, a paste whose most specific cause it is)
LEADS: list[tuple[str, str]] = [
    ("tailscale-quad100", "what is 100.100.100.100 in tailscale"),
    ("devtools-debugging-port", "DevTools listening on ws://127.0.0.1:9222/devtools/browser/1f3c"),
    ("loopback-or-every-address", "what's the difference between 127.0.0.1 and 0.0.0.0"),
    ("refused-ipv6-loopback", "MongooseServerSelectionError: connect ECONNREFUSED ::1:27017"),
    (
        "refused-ipv6-loopback",
        'psql: error: connection to server at "localhost" (::1), port 5432 failed: Connection refused',
    ),
    ("unspecified-as-destination", "curl http://0.0.0.0:8000/docs gives connection refused on windows"),
    (
        "refused-loopback",
        "curl: (7) Failed to connect to localhost port 8081 after 2 ms: Couldn't connect to server",
    ),
    ("refused-loopback", "Error: connect ECONNREFUSED 127.0.0.1:19874"),
    (
        "refused-service-not-running",
        "Error: Redis connection to 127.0.0.1:6379 failed - connect ECONNREFUSED 127.0.0.1:6379",
    ),
    ("refused-service-not-running", "ERROR: connect ECONNREFUSED 127.0.0.1:27017 HELP ME"),
    ("refused-service-not-running", "connect ECONNREFUSED 127.0.0.1:3306"),
    (
        "refused-dev-server-moved",
        "npm run dev, then the browser says ERR_CONNECTION_REFUSED on localhost:5173",
    ),
    (
        "localhost-in-container",
        "my api container logs: Error: connect ECONNREFUSED 127.0.0.1:5432 (postgres is another service in docker compose)",
    ),
    (
        "localhost-in-container",
        "from inside the container: curl: (7) Failed to connect to localhost port 11434: Connection refused",
    ),
    (
        "localhost-in-android-emulator",
        "React Native on the Android emulator: TypeError: Network request failed, connect ECONNREFUSED 127.0.0.1:3000",
    ),
    (
        "localhost-in-android-emulator",
        "from my android emulator fetch('http://localhost:8000/api') fails: TypeError: Network request failed",
    ),
    (
        "android-emulator-host-alias",
        "Flutter app in the emulator: SocketException: Connection refused (OS Error: Connection refused, errno = 111), address = 10.0.2.2, port = 8000",
    ),
    ("dev-server-from-another-device", "my friend can't open http://192.168.0.23:5173 from his laptop"),
    (
        "dev-server-from-another-device",
        "opening http://192.168.1.20:8000 on my phone just spins, django runserver is running",
    ),
    (
        "lan-address-from-another-device",
        "can't reach http://192.168.1.50:9000 from my phone on the same wifi",
    ),
    ("loopback-server-from-another-device", " * Running on http://127.0.0.1:5000 but my phone can't open it"),
    (
        "unspecified-listening",
        "INFO:     Uvicorn running on http://0.0.0.0:8000 (Press CTRL+C to quit) is that safe?",
    ),
    ("unspecified-listening", "Serving HTTP on 0.0.0.0 port 8000 (http://0.0.0.0:8000/) ..."),
    ("ipv6-wildcard-listening", "Listening on [::]:8080"),
    ("nginx-ipv6only", "nginx: listen [::]:443 ssl; and IPv4 clients can't connect any more"),
    ("port-in-use", "Error: listen EADDRINUSE: address already in use :::3000"),
    (
        "port-in-use",
        "ERROR:    [Errno 98] error while attempting to bind on address ('0.0.0.0', 8000): address already in use",
    ),
    (
        "port-in-use-macos-airplay",
        "flask on my macbook: OSError: [Errno 48] Address already in use, port 5000",
    ),
    ("port-in-use", "Starting inspector on 127.0.0.1:9229 failed: address already in use"),
    (
        "port-in-use",
        'LOG:  could not bind IPv4 address "127.0.0.1": Address already in use\nHINT:  Is another postmaster already running on port 5432?',
    ),
    ("privileged-port-denied", "nginx: [emerg] bind() to 0.0.0.0:80 failed (13: Permission denied)"),
    ("privileged-port-denied", "Error: listen EACCES: permission denied 0.0.0.0:80"),
    (
        "windows-excluded-port",
        "OSError: [WinError 10013] An attempt was made to access a socket in a way forbidden by its access permissions ('0.0.0.0', 8080)",
    ),
    (
        "permission-denied-high-port",
        "ERROR: Failed to serve: Error: listen EACCES: permission denied 0.0.0.0:5037",
    ),
    (
        "windows-excluded-port",
        "listen tcp :50051: bind: An attempt was made to access a socket in a way forbidden by its access permissions.",
    ),
    (
        "host-docker-internal-unresolved",
        "app-1  | 2025-02-25 07:04:07: db: Could not connect. Will try again. getaddrinfo ENOTFOUND host.docker.internal",
    ),
    (
        "refused-remote",
        '{"message":"Error while connecting to MongoDB: MongoServerSelectionError: connect ECONNREFUSED 172.18.0.3:27017"}',
    ),
    (
        "docker-host-port-taken",
        "docker: Error response from daemon: driver failed programming external connectivity on endpoint db (8c34): Bind for 0.0.0.0:5432 failed: port is already allocated.",
    ),
    (
        "docker-host-port-taken",
        "Error starting userland proxy: listen tcp4 0.0.0.0:80: bind: address already in use",
    ),
    (
        "docker-port-not-published",
        "I did docker run myapp and then curl localhost:3000 says curl: (7) Failed to connect to localhost port 3000: Connection refused",
    ),
    ("timeout-dropped-name", "ssh: connect to host cbsulogin.tc.cornell.edu port 22: Connection timed out"),
    ("timeout-dropped-name", "Error: connect ETIMEDOUT api.example.org:443"),
    ("adb-connect-refused", "adb connect 192.168.1.42:5555 failed to connect"),
    (
        "adb-connect-refused",
        "adb connect 192.168.1.42:5555: cannot connect to 192.168.1.42:5555: Connection timed out (10060)",
    ),
    (
        "refused-remote-name",
        "When I try and run the command `ssh -R 80:localhost:80 serveo.net` to tunnel for the webserver I'm hosting it says this: `ssh: connect to host serveo.net port 22: Connection refused`",
    ),
    (
        "refused-remote-name",
        "curl: (7) Failed to connect to api.staging.example.org port 8443 after 12 ms: Connection refused",
    ),
    ("host-unreachable-remote", "Error: connect EHOSTUNREACH 145.108.224.57:280"),
    (
        "timeout-dropped",
        "Oct 14 22:22:35.959 - [DEBUG] connect 2607:f8b0:401e:9::11 fail:timeout('timed out',)",
    ),
    ("timeout-dropped", "dial tcp 10.20.0.7:6443: i/o timeout"),
    ("timeout-dropped", "Error: connect ETIMEDOUT 172.16.4.2:443"),
    (
        "timeout-dropped",
        "curl: (28) Failed to connect to 10.8.0.1 port 443 after 130012 ms: Couldn't connect to server",
    ),
    ("refused-remote", "curl: (7) Failed to connect to 192.168.122.13 port 8080: Connection refused"),
    ("name-single-label", "getaddrinfo ENOTFOUND db"),
    ("name-single-label", "migration_1  | could not connect to postgres Error: getaddrinfo ENOTFOUND db"),
    (
        "name-single-label",
        'could not translate host name "pg" to address: No address associated with hostname',
    ),
    ("dns-unreachable", "Error: getaddrinfo EAI_AGAIN registry.npmjs.org"),
    (
        "reset-app-on-container-loopback",
        "docker run -p 8000:8000 myapi, then curl localhost:8000 gives curl: (56) Recv failure: Connection reset by peer",
    ),
    ("reset-mid-connection", "Error: read ECONNRESET at TCP.onStreamRead, upstream 10.0.3.7:8080"),
    (
        "tls-to-plain-http",
        "This site can't provide a secure connection: localhost sent an invalid response. ERR_SSL_PROTOCOL_ERROR on https://localhost:5173",
    ),
    ("http-404-local", "GET http://localhost:3000/api/users 404 (Not Found)"),
    ("bad-gateway", "502 Bad Gateway nginx/1.24.0 when I open http://localhost:8080/api"),
    ("docker-publish-mapping", "docker run -p 8888:80 httpd"),
    ("docker-publish-loopback", "docker run -p 127.0.0.1:8080:80 nginx"),
    ("dart-vm-service-this-run", "The Dart VM service is listening on http://127.0.0.1:50123/abc=/"),
    ("dart-vm-service-this-run", "Debug service listening on ws://127.0.0.1:62893/abc=/ws"),
    ("dev-tool-port-this-run", "http://127.0.0.1:50123/abc=/"),
    ("dev-tool-port-this-run", "127.0.0.1:62893"),
    ("port-zero", "server.listen(0) and then it says port 0?"),
    ("host-docker-internal-unresolved", "getaddrinfo ENOTFOUND host.docker.internal"),
    (
        "host-docker-internal-refused",
        "curl: (7) Failed to connect to host.docker.internal port 8000 after 3 ms: Connection refused",
    ),
    ("wsl-localhost", "wsl localhost:3000 not working from windows"),
    ("cgnat-wan-address", "my router says WAN IP 100.67.12.9, why can't I port forward"),
    (
        "tailscale-address",
        "Host (server): Pop OS Linux, Tailscale IP: 100.82.121.20, the client can't reach it",
    ),
    ("ipv4-mapped-client", "what does ::ffff:10.0.0.5 mean in my access log"),
    ("link-local-zoned", "fe80::a00:27ff:fe4e:66a1%enp0s3"),
    ("link-local-zoned", "curl http://[fe80::1%25eth0]:8080/ hangs"),
    ("link-local-zone", "ping fe80::a00:27ff:fe4e:66a1 says invalid argument"),
    ("self-assigned-address", "ipconfig shows 169.254.23.7 on my ethernet adapter and no internet"),
    ("cloud-metadata", "DEBUG:urllib3.connectionpool:Starting new HTTP connection (2): 169.254.169.254:80"),
    ("udp-service-port", "sudo ss -ltnp shows nothing on port 67 but dhcpd is running"),
    ("dns-port-53", "is anything listening on port 53 on this box?"),
    (
        "dns-port-53-in-use",
        "Error starting userland proxy: listen udp4 0.0.0.0:53: bind: address already in use",
    ),
    ("sixtofour-address", "who is 2002:c000:0204::1 in my logs"),
    ("teredo-address", "2001:0:4136:e378:8000:63bf:3fff:fdd2"),
    ("nat64-address", "my phone resolves github.com to 64:ff9b::8c52:7903"),
    ("example-address-not-real", "what is 198.51.100.7"),
    ("example-address-not-real", "connect ETIMEDOUT 203.0.113.10:443"),
    (
        "ollama-not-running",
        "requests.exceptions.ConnectionError: HTTPConnectionPool(host='localhost', port=11434): Max retries exceeded",
    ),
    ("kubectl-port-forward-local", "kubectl port-forward svc/web 8080:80 then localhost:8080 hangs"),
    (
        "cors-blocked",
        "Access to fetch at 'http://localhost:8000/api/users' from origin 'http://localhost:3000' has been blocked by CORS policy: No 'Access-Control-Allow-Origin' header is present",
    ),
    ("host-unreachable-lan", "connect EHOSTUNREACH 192.168.50.1:80"),
    ("no-ipv6-route", "connect ENETUNREACH 2606:4700::6810:84e5:443"),
    (
        "docker-daemon-unreachable",
        "Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?",
    ),
    (
        "docker-daemon-unreachable",
        "error during connect: Get http://127.0.0.1:2375/v1.27/containers/json: dial tcp 127.0.0.1:2375: connectex: No connection could be made because the target machine actively refused it.",
    ),
    ("debugger-port-closed", "connect ECONNREFUSED 127.0.0.1:9222"),
    ("debugger-port-closed", "Error: connect ECONNREFUSED 127.0.0.1:9229"),
    (
        "vite-network-hidden",
        "  VITE v5.4.8  ready in 100 ms\n\n  ➜  Local:   http://127.0.0.1:5173/\n  ➜  Network: use --host to expose",
    ),
    ("docker-ps-all-interfaces", "0.0.0.0:3306->3306/tcp   mysql"),
    ("bind-address-not-local", "OSError: [Errno 99] Cannot assign requested address: ('192.168.1.50', 8000)"),
    (
        "connect-to-unspecified-windows",
        "requests.exceptions.ConnectionError: HTTPConnectionPool(host='0.0.0.0', port=8000): Max retries exceeded with url: / (Caused by NewConnectionError: [WinError 10049] The requested address is not valid in its context)",
    ),
    ("ephemeral-ports-exhausted", "Error: connect EADDRNOTAVAIL 10.0.0.5:443 - Local (0.0.0.0:0)"),
]

# (diagnosis id, a paste that looks alike but is not that cause)
NEAR_MISSES: list[tuple[str, str]] = [
    ("link-local-zone", "fe80::a00:27ff:fe4e:66a1%enp0s3"),
    ("link-local-zoned", "ping fe80::a00:27ff:fe4e:66a1 says invalid argument"),
    ("tailscale-quad100", "what is 100.100.100.101"),
    ("devtools-debugging-port", "Error: connect ECONNREFUSED 127.0.0.1:9222"),
    ("loopback-or-every-address", "what is 127.0.0.1"),
    ("refused-ipv6-loopback", "Error: connect ECONNREFUSED 127.0.0.1:27017"),
    ("unspecified-as-destination", "INFO:     Uvicorn running on http://0.0.0.0:8000 (Press CTRL+C to quit)"),
    ("refused-loopback", "curl: (7) Failed to connect to 192.168.122.13 port 8080: Connection refused"),
    ("refused-service-not-running", "connect ECONNREFUSED 127.0.0.1:8080"),
    ("refused-service-not-running", "Error: connect ETIMEDOUT 10.0.0.5:5432"),
    ("refused-dev-server-moved", "connect ECONNREFUSED 127.0.0.1:5432"),
    ("localhost-in-container", "Error: connect ECONNREFUSED 127.0.0.1:5432"),
    ("localhost-in-android-emulator", "Error: connect ECONNREFUSED 127.0.0.1:3000"),
    ("android-emulator-host-alias", "connect ECONNREFUSED 10.0.2.15:8000"),
    ("dev-server-from-another-device", "my friend can't open http://192.168.0.23:8080 from his laptop"),
    ("dev-server-from-another-device", "http://192.168.0.23:5173 works fine"),
    ("lan-address-from-another-device", "my phone can't open http://127.0.0.1:5000"),
    ("loopback-server-from-another-device", " * Running on http://127.0.0.1:5000 (Press CTRL+C to quit)"),
    ("unspecified-listening", "Error: listen EADDRINUSE: address already in use 0.0.0.0:5000"),
    ("unspecified-listening", "nginx: [emerg] bind() to 0.0.0.0:80 failed (13: Permission denied)"),
    ("unspecified-listening", "Listening on [::]:8080"),
    ("ipv6-wildcard-listening", "INFO:     Uvicorn running on http://0.0.0.0:8000"),
    ("nginx-ipv6only", "Listening on [::]:8080"),
    ("nginx-ipv6only", "nginx: [emerg] bind() to [::]:80 failed (98: Address already in use)"),
    ("port-in-use", "Error: connect ECONNREFUSED 127.0.0.1:3000"),
    ("port-in-use-macos-airplay", "Error: listen EADDRINUSE: address already in use :::5000 on ubuntu"),
    ("port-in-use-macos-airplay", "on my mac: Error: listen EADDRINUSE: address already in use :::3000"),
    ("privileged-port-denied", "Error: listen EACCES: permission denied 0.0.0.0:8080"),
    (
        "privileged-port-denied",
        "OSError: [WinError 10013] An attempt was made to access a socket in a way forbidden by its access permissions ('0.0.0.0', 80)",
    ),
    ("windows-excluded-port", "Error: listen EACCES: permission denied 0.0.0.0:80"),
    ("permission-denied-high-port", "Error: listen EACCES: permission denied 0.0.0.0:80"),
    ("timeout-dropped-name", "Error: connect ETIMEDOUT 172.16.4.2:443"),
    ("host-unreachable-remote", "connect EHOSTUNREACH 192.168.50.1:80"),
    (
        "permission-denied-high-port",
        'await conn.send(msg, {\n  hostname: "192.168.1.255",\n  port: 8001,\n  transport: "udp",\n});\nerror: Uncaught (in promise) PermissionDenied: Permission denied (os error 13)',
    ),
    ("refused-remote-name", "curl: (7) Failed to connect to 192.168.122.13 port 8080: Connection refused"),
    ("refused-remote-name", "getaddrinfo ENOTFOUND api.staging.example.org"),
    ("timeout-dropped-name", "getaddrinfo EAI_AGAIN registry.npmjs.org"),
    ("adb-connect-refused", "adb devices shows nothing for 192.168.1.42:5555"),
    ("privileged-port-denied", "Errno::EACCES: Permission denied - send(2) to 255.255.255.255:67 broadcast"),
    ("docker-host-port-taken", "Error: listen EADDRINUSE: address already in use :::3000"),
    (
        "docker-port-not-published",
        "my api container logs: Error: connect ECONNREFUSED 127.0.0.1:5432 (postgres is another service in docker compose)",
    ),
    (
        "docker-port-not-published",
        "curl: (7) Failed to connect to localhost port 8081 after 2 ms: Couldn't connect to server",
    ),
    (
        "permission-denied-high-port",
        "Errno::EACCES: Permission denied - send(2) to 192.168.1.255:8001 broadcast",
    ),
    (
        "permission-denied-high-port",
        "OSError: [WinError 10013] An attempt was made to access a socket in a way forbidden by its access permissions ('0.0.0.0', 8080)",
    ),
    (
        "timeout-dropped",
        "requests.exceptions.ReadTimeout: HTTPConnectionPool(host='10.0.0.5', port=8000): Read timed out.",
    ),
    ("timeout-dropped", "curl: (7) Failed to connect to 192.168.122.13 port 8080: Connection refused"),
    ("refused-remote", "Error: connect ETIMEDOUT 172.16.4.2:443"),
    ("refused-remote", "Error: connect ECONNREFUSED 127.0.0.1:8080"),
    ("name-single-label", "Error: getaddrinfo ENOTFOUND api.example.com"),
    ("name-single-label", "getaddrinfo ENOTFOUND localhost"),
    ("dns-unreachable", "getaddrinfo EAI_AGAIN db"),
    ("dns-unreachable", "getaddrinfo ENOTFOUND registry.npmjs.org"),
    ("reset-app-on-container-loopback", "Error: read ECONNRESET at TCP.onStreamRead, upstream 10.0.3.7:8080"),
    ("reset-mid-connection", "Error: connect ECONNREFUSED 127.0.0.1:8080"),
    ("tls-to-plain-http", "ERR_CONNECTION_REFUSED on https://localhost:5173"),
    ("http-404-local", "GET http://localhost:3000/api/users 200 OK"),
    ("http-404-local", "GET https://api.github.com/repos/x/y 404 (Not Found)"),
    ("bad-gateway", "GET http://localhost:3000/api 404 (Not Found)"),
    ("docker-publish-mapping", "kubectl port-forward svc/web 8080:80"),
    ("docker-publish-mapping", "docker run -p 8888 httpd"),
    ("docker-publish-loopback", "docker run -p 8888:80 httpd"),
    ("dev-tool-port-this-run", "DevTools listening on ws://127.0.0.1:9222/devtools/browser/1f3c"),
    (
        "dart-vm-service-this-run",
        "Error connecting to the service protocol: failed to connect to http://127.0.0.1:50123/",
    ),
    ("dart-vm-service-this-run", "http://127.0.0.1:50123/abc=/"),
    ("dev-tool-port-this-run", "Error: connect ECONNREFUSED 127.0.0.1:52704"),
    ("dev-tool-port-this-run", "supabase start: API URL: http://127.0.0.1:54321"),
    ("dev-tool-port-this-run", "mysqlsh says it listens on 127.0.0.1:33060"),
    ("timeout-dropped", "proxy_read_timeout 60s; upstream keepalive to 10.0.0.5:8080 connection"),
    ("port-zero", "port 8080 in bind()"),
    ("host-docker-internal-unresolved", "getaddrinfo ENOTFOUND db"),
    ("host-docker-internal-refused", "getaddrinfo ENOTFOUND host.docker.internal"),
    ("wsl-localhost", "localhost:3000 not working from windows"),
    ("cgnat-wan-address", "my router says WAN IP 81.2.69.160, why can't I port forward"),
    ("cgnat-wan-address", "what is 100.82.121.20 in tailscale"),
    ("tailscale-address", "what is 100.100.100.100 in tailscale"),
    ("tailscale-address", "my router says WAN IP 100.67.12.9, why can't I port forward"),
    ("ipv4-mapped-client", "what does ::1 mean in my access log"),
    ("link-local-zone", "ipconfig shows 169.254.23.7 on my ethernet adapter"),
    ("self-assigned-address", "curl http://169.254.169.254/latest/meta-data/ timed out on my wifi"),
    ("self-assigned-address", "fe80::a00:27ff:fe4e:66a1%enp0s3 on my ethernet interface"),
    ("cloud-metadata", "ipconfig shows 169.254.23.7 on my ethernet adapter"),
    ("udp-service-port", "sudo ss -ltnp shows nothing on port 8067"),
    ("dns-port-53", "sudo ss -ltnp shows nothing on port 5353"),
    ("dns-port-53-in-use", "Error: listen EADDRINUSE: address already in use :::3000"),
    ("sixtofour-address", "2001:0:4136:e378:8000:63bf:3fff:fdd2"),
    ("teredo-address", "2002:c000:0204::1"),
    ("nat64-address", "2001:db8::1"),
    ("example-address-not-real", "is 192.0.3.7 a documentation address?"),
    ("ollama-not-running", "Error: connect ECONNREFUSED 127.0.0.1:8000"),
    ("ollama-not-running", "ollama is serving on http://localhost:11434, which model should I pull?"),
    ("kubectl-port-forward-local", "my router can port forward 8080 to localhost:8080?"),
    ("cors-blocked", "GET http://localhost:8000/api/users net::ERR_CONNECTION_REFUSED"),
    ("host-unreachable-lan", "connect EHOSTUNREACH 2001:4860:4860::8888:443"),
    ("host-unreachable-lan", "connect ECONNREFUSED 192.168.50.1:80"),
    ("no-ipv6-route", "connect ENETUNREACH 8.8.8.8:53"),
    (
        "docker-daemon-unreachable",
        "Error response from daemon: driver failed programming external connectivity: Bind for 0.0.0.0:5432 failed: port is already allocated",
    ),
    ("debugger-port-closed", "connect ECONNREFUSED 127.0.0.1:9000"),
    ("vite-network-hidden", "  ➜  Local:   http://localhost:5173/\n  ➜  Network: http://192.168.1.20:5173/"),
    ("docker-ps-all-interfaces", "127.0.0.1:5432->5432/tcp   postgres"),
    ("docker-ps-all-interfaces", "Listening on 0.0.0.0:8080/tcp"),
    ("bind-address-not-local", "Error: connect EADDRNOTAVAIL 10.0.0.5:443 - Local (0.0.0.0:0)"),
    ("connect-to-unspecified-windows", "Error: connect EADDRNOTAVAIL 10.0.0.5:443 - Local (0.0.0.0:0)"),
    ("connect-to-unspecified-windows", "curl http://0.0.0.0:8000/docs gives connection refused"),
    (
        "ephemeral-ports-exhausted",
        "OSError: [Errno 99] Cannot assign requested address: ('192.168.1.50', 8000)",
    ),
    (
        "localhost-in-container",
        "error during connect: Get http://127.0.0.1:2375/v1.27/containers/json: dial tcp 127.0.0.1:2375: connectex: No connection could be made because the target machine actively refused it.",
    ),
    (
        "refused-dev-server-moved",
        "curl http://localhost:3000\ncurl: (7) Failed to connect to localhost port 3000 after 1 ms: Connection refused",
    ),
    (
        "dns-port-53",
        "The following addresses failed: 'beta.kontalk.net:5222' failed because: sendto failed: ENETUNREACH (Network is unreachable) 8.8.8.8:53",
    ),
]

_UNFILLED = re.compile(r"\{\w+\}")


def _diagnosis_ids() -> list[str]:
    return sorted(d.id for d in _kb().diagnoses)


@pytest.mark.parametrize(("diagnosis_id", "paste"), LEADS)
def test_the_diagnosis_leads_for_a_paste_of_its_cause(diagnosis_id: str, paste: str) -> None:
    found = _diagnosed(paste)
    assert found, f"no diagnosis for {paste!r}"
    assert found[0].id == diagnosis_id, [d.id for d in found]


@pytest.mark.parametrize(("diagnosis_id", "paste"), NEAR_MISSES)
def test_the_diagnosis_stays_out_of_a_near_miss(diagnosis_id: str, paste: str) -> None:
    assert diagnosis_id not in [d.id for d in _diagnosed(paste)]


@pytest.mark.parametrize("diagnosis_id", _diagnosis_ids())
def test_every_diagnosis_has_a_leading_paste_and_a_near_miss(diagnosis_id: str) -> None:
    assert diagnosis_id in {i for i, _ in LEADS}, "no paste where it leads"
    assert diagnosis_id in {i for i, _ in NEAR_MISSES}, "no near-miss"


def test_there_are_at_least_32_diagnoses() -> None:
    assert len(_kb().diagnoses) >= 32


@pytest.mark.parametrize("diagnosis_id", _diagnosis_ids())
def test_every_diagnosis_cites_an_https_source(diagnosis_id: str) -> None:
    diagnosis = next(d for d in _kb().diagnoses if d.id == diagnosis_id)
    assert diagnosis.sources
    assert all(s.url.startswith("https://") for s in diagnosis.sources), diagnosis.sources


@pytest.mark.parametrize("paste", sorted({paste for _, paste in LEADS + NEAR_MISSES}))
def test_the_filled_text_has_no_mention_no_port_stub_and_no_placeholder(paste: str) -> None:
    """Every diagnosis that fires on any paste of this file, not only the one that leads."""
    for d in _diagnosed(paste):
        commands = [f"{c.cmd} {c.says}" for cmds in d.commands.values() for c in cmds]
        for text in (d.title, d.summary, d.fix, *commands):
            assert "@" not in text, (d.id, text)
            assert "<port>" not in text.lower(), (d.id, text)
            assert not _UNFILLED.search(text), (d.id, text)


_SENTENCE = re.compile(r"(?<=[.!?])\s+")


@pytest.mark.parametrize(("diagnosis_id", "paste"), LEADS)
def test_the_lead_fits_the_limits_and_says_nothing_twice(diagnosis_id: str, paste: str) -> None:
    lead = _diagnosed(paste)[0]
    assert len(lead.title) <= 120, lead.title
    assert len(lead.summary) <= 300, lead.summary
    assert len(lead.fix) <= 1000, lead.fix
    summary = {x.strip().lower() for x in _SENTENCE.split(lead.summary) if x.strip()}
    fix = {x.strip().lower() for x in _SENTENCE.split(lead.fix) if x.strip()}
    assert lead.title.lower() not in lead.summary.lower()
    assert not summary & fix, summary & fix


@pytest.mark.parametrize("diagnosis_id", _diagnosis_ids())
def test_no_text_of_a_diagnosis_holds_a_port_stub_or_a_placeholder_in_what_a_command_says(
    diagnosis_id: str,
) -> None:
    """`says` is shown as written (only `cmd` is filled), so a placeholder there would reach the reader."""
    d = next(d for d in _kb().diagnoses if d.id == diagnosis_id)
    texts = [d.title, d.summary, d.fix, *d.by_service.values()]
    says = [c.says for cmds in d.commands.values() for c in cmds]
    for text in texts + [c.cmd for cmds in d.commands.values() for c in cmds] + says:
        assert "@" not in text and "<port>" not in text.lower(), text
    assert not any(_UNFILLED.search(text) for text in says), says


# (paste, the diagnoses that apply, most specific first): where several causes fit, the order matters
RANKINGS: list[tuple[str, list[str]]] = [
    (
        "MongooseServerSelectionError: connect ECONNREFUSED ::1:27017",
        ["refused-ipv6-loopback", "refused-service-not-running", "refused-loopback"],
    ),
    (
        "docker compose: api-1 | Error: connect ECONNREFUSED ::1:5432",
        [
            "localhost-in-container",
            "refused-ipv6-loopback",
            "refused-service-not-running",
            "refused-loopback",
        ],
    ),
    (
        "ECONNREFUSED 127.0.0.1:11434 from open-webui container",
        ["localhost-in-container", "ollama-not-running", "refused-loopback"],
    ),
    (
        "Error starting userland proxy: listen udp4 0.0.0.0:53: bind: address already in use",
        ["dns-port-53-in-use", "docker-host-port-taken", "port-in-use"],
    ),
    (
        "flask on my macbook: OSError: [Errno 48] Address already in use, port 5000",
        ["port-in-use-macos-airplay", "port-in-use"],
    ),
    (
        "my friend can't open http://192.168.0.23:5173 from his laptop",
        ["dev-server-from-another-device", "lan-address-from-another-device"],
    ),
    (
        "my laptop can't reach 192.168.1.10:3000 but it gives connection refused",
        ["lan-address-from-another-device", "refused-remote"],
    ),
    (
        "failed to connect to '192.168.1.42:5555': Connection refused (adb connect)",
        ["adb-connect-refused", "refused-remote"],
    ),
    (
        "docker run -p 8000:8000 myapi, then curl localhost:8000 gives curl: (56) Recv failure: Connection reset by peer",
        ["reset-app-on-container-loopback", "docker-publish-mapping", "reset-mid-connection"],
    ),
]


@pytest.mark.parametrize(("paste", "order"), RANKINGS)
def test_the_most_specific_cause_leads_and_the_others_follow_in_order(paste: str, order: list[str]) -> None:
    assert [d.id for d in _diagnosed(paste)] == order

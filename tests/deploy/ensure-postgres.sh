#!/usr/bin/env bash
# Make sure Debian's PostgreSQL server is installed for the scale-out tests (idempotent, quiet).
# Installs with apt-get when running as root; otherwise says why the PostgreSQL tests will be skipped.
set -u
if compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null || command -v initdb >/dev/null 2>&1; then
    exit 0
fi
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    echo "installing PostgreSQL (Debian's postgresql package) for the scale-out tests..."
    export DEBIAN_FRONTEND=noninteractive
    if apt-get update -qq >/dev/null && apt-get install -y -qq --no-install-recommends postgresql >/dev/null; then
        exit 0
    fi
    echo "could not install PostgreSQL: its tests will be skipped (or fail where NETEXPLAIN_REQUIRE_POSTGRES=1)"
    exit 0
fi
echo "PostgreSQL is not installed and this is not root: run 'sudo apt-get install postgresql' to run its tests"

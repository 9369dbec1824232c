#!/usr/bin/env bash
# Make sure Debian's Chromium is installed for the browser tests (idempotent, quiet).
# Installs with apt-get when running as root; otherwise says why the browser tests will be skipped.
# Never `playwright install`: it downloads a browser build of its own, which this project doesn't use.
set -u
if command -v chromium >/dev/null 2>&1 || [ -x /usr/bin/chromium ]; then
    exit 0
fi
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    echo "installing Chromium (Debian's chromium package) for the browser tests..."
    export DEBIAN_FRONTEND=noninteractive
    if apt-get update -qq >/dev/null && apt-get install -y -qq chromium >/dev/null; then
        exit 0
    fi
    echo "could not install Chromium: the browser tests will be skipped (or fail where NETEXPLAIN_REQUIRE_CHROMIUM=1)"
    exit 0
fi
echo "Chromium is not installed and this is not root: run 'sudo apt-get install chromium' to run the browser tests"

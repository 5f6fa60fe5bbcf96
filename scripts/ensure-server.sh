#!/usr/bin/env bash
# Makes sure a Valkey (or Redis) server binary is on PATH: the emulator runs each
# Key Value instance as a real server process. Debian 12 packages no valkey-server,
# so redis-server (7.x, protocol-compatible) is the fallback.
set -euo pipefail
if command -v valkey-server >/dev/null 2>&1 || command -v redis-server >/dev/null 2>&1; then
  exit 0
fi
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "ensure-server: installing a Valkey/Redis server with apt-get" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  if apt-cache show valkey-server >/dev/null 2>&1; then
    apt-get install -y -qq valkey-server >/dev/null
  else
    apt-get install -y -qq redis-server >/dev/null
  fi
  # The Debian package may start a system-wide server; the emulator starts its own.
  (service redis-server stop || service valkey-server stop) >/dev/null 2>&1 || true
  exit 0
fi
echo "ensure-server: neither valkey-server nor redis-server is installed." >&2
echo "  Install one (Debian/Ubuntu: sudo apt-get install redis-server; macOS: brew install valkey) and re-run." >&2
exit 1

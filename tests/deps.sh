#!/usr/bin/env bash
# Installs the Debian 12 packages that building and testing scoped need, only those missing.
# The real Bit CLI itself comes from the npm registry, installed by tests/cli/bit-client.sh.
set -euo pipefail

pkgs=(gcc make pkg-config libmicrohttpd-dev libsqlite3-dev libjansson-dev libsodium-dev
      libzstd-dev zlib1g-dev libdeflate-dev nettle-dev python3 curl zstd sqlite3 ca-certificates chromium
      prometheus systemd   # promtool checks /metrics; systemd-analyze checks the unit files
      valgrind clang libclang-rt-14-dev)
# Node and npm run the real Bit CLI; a machine may already have them from elsewhere.
command -v node >/dev/null 2>&1 || pkgs+=(nodejs)
command -v npm >/dev/null 2>&1 || pkgs+=(npm)

missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "deps: installing ${missing[*]}"
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"

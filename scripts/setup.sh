#!/usr/bin/env bash
# Installs the Debian packages reelscale needs (scripts/debian-packages.txt) when any is
# missing. Idempotent: a machine that has them all installs nothing.
set -euo pipefail
cd "$(dirname "$0")/.."

mapfile -t wanted < <(grep -v -E '^\s*(#|$)' scripts/debian-packages.txt)
missing=()
for p in "${wanted[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# The dashboard's browser tests: playwright-core from npm (it drives Debian's chromium).
web_packages() {
  if [ ! -d tests/web/node_modules/playwright-core ]; then
    echo "setup: npm ci in tests/web"
    npm ci --prefix tests/web --no-audit --no-fund --loglevel=error
  fi
}
if [ ${#missing[@]} -eq 0 ]; then
  echo "setup: all ${#wanted[@]} Debian packages present"
  web_packages
  exit 0
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
echo "setup: installing ${#missing[@]} packages: ${missing[*]}"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/tmp/reelscale-apt.log 2>&1 \
  || { tail -30 /tmp/reelscale-apt.log; exit 1; }
web_packages
echo "setup: done"

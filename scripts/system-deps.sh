#!/usr/bin/env bash
# Install the system packages the tests and benchmarks use, when they are missing:
# Chromium (browser tests), wrk (load benchmarks), PostgreSQL 15 (scale-out path),
# DejaVu fonts (certificates and charts render the same everywhere); nginx, Caddy,
# systemd-analyze and openssl (the shipped deploy/ files are checked with them).
set -euo pipefail

missing=()
command -v chromium >/dev/null 2>&1 || [ -x /usr/lib/chromium/chromium ] || missing+=(chromium)
command -v wrk >/dev/null 2>&1 || missing+=(wrk)
[ -x /usr/lib/postgresql/15/bin/pg_ctl ] || missing+=(postgresql-15)
[ -f /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ] || missing+=(fonts-dejavu-core)
command -v runuser >/dev/null 2>&1 || missing+=(util-linux)
[ -x /usr/sbin/nginx ] || missing+=(nginx)
command -v caddy >/dev/null 2>&1 || missing+=(caddy)
command -v systemd-analyze >/dev/null 2>&1 || missing+=(systemd)
command -v openssl >/dev/null 2>&1 || missing+=(openssl)

# axe-core (npm) for the accessibility checks of the browser tests (tests/web/a11y.py).
AXE_DIR="$(dirname "$0")/../tests/axe"
if [ ! -f "$AXE_DIR/node_modules/axe-core/axe.min.js" ] && command -v npm >/dev/null 2>&1; then
  (cd "$AXE_DIR" && npm install --no-audit --no-fund --silent)
fi

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
echo "Installing system packages: ${missing[*]}"
if [ "$(id -u)" -eq 0 ]; then
  SUDO=""
elif command -v sudo >/dev/null 2>&1; then
  SUDO="sudo"
else
  echo "These packages are missing and this user cannot install them: ${missing[*]}" >&2
  echo "Install them with your package manager (Debian/Ubuntu: apt-get install ${missing[*]})." >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null

#!/usr/bin/env bash
# Installs the Debian packages the test suite needs when they are missing:
# PostgreSQL 15 and pgsphere (the second catalog backend, started as a throwaway
# cluster by tests/conftest.py), STILTS (taplint/votlint for the VO services),
# chromium (the portal's browser tests and screenshots, driven by Playwright)
# and npm (installs the portal's browser libraries from package.json).
set -euo pipefail
need=()
[ -x /usr/lib/postgresql/15/bin/initdb ] || need+=(postgresql-15)
[ -f /usr/share/postgresql/15/extension/pg_sphere.control ] || need+=(postgresql-15-pgsphere)
command -v stilts >/dev/null 2>&1 || need+=(stilts)
[ -x /usr/bin/chromium ] || need+=(chromium)
command -v npm >/dev/null 2>&1 || need+=(npm)
if [ ${#need[@]} -eq 0 ]; then
  exit 0
fi
echo "installing ${need[*]}"
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null

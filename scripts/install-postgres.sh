#!/usr/bin/env bash
# Installs Debian's PostgreSQL 15 server and pgsphere when they are missing, so that the
# test suite can start a throwaway cluster (tests/conftest.py) on the second backend.
set -euo pipefail
need=()
[ -x /usr/lib/postgresql/15/bin/initdb ] || need+=(postgresql-15)
ls /usr/share/postgresql/15/extension/pg_sphere.control >/dev/null 2>&1 || need+=(postgresql-15-pgsphere)
if [ ${#need[@]} -eq 0 ]; then
  exit 0
fi
echo "installing ${need[*]}"
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}" >/dev/null

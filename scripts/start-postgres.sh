#!/usr/bin/env bash
# Start a local PostgreSQL for tests (no systemd needed) and print the URL to export.
#
# Idempotent: installs postgresql with apt-get if missing, starts the cluster if it is down,
# creates the role and database if absent. With --print-env, stdout carries only the line
#   export COUNTERSIGN_TEST_DATABASE_URL=...
# so CI can `eval "$(bash scripts/start-postgres.sh --print-env)"`; progress goes to stderr.
set -euo pipefail

ROLE="${PG_ROLE:-countersign}"
PASSWORD="${PG_PASSWORD:-countersign}"
DB="${PG_DB:-countersign_test}"
PORT="${PG_PORT:-5432}"
PRINT_ENV=0
[[ "${1:-}" == "--print-env" ]] && PRINT_ENV=1

log() { echo "start-postgres: $*" >&2; }

as_postgres() {
  if [[ "$(id -un)" == "postgres" ]]; then "$@"; elif [[ "$(id -u)" == "0" ]]; then
    su postgres -c "$(printf '%q ' "$@")"
  else sudo -u postgres "$@"; fi
}

if ! command -v pg_ctlcluster >/dev/null 2>&1 || [[ -z "$(ls /etc/postgresql 2>/dev/null)" ]]; then
  log "installing postgresql with apt-get"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  apt-get install -y -qq postgresql >&2
fi

VERSION="$(ls /etc/postgresql | sort -V | tail -n 1)"
if ! pg_isready -h 127.0.0.1 -p "$PORT" -q; then
  log "starting cluster $VERSION/main"
  pg_ctlcluster --skip-systemctl-redirect "$VERSION" main start >&2 || true
fi
pg_isready -h 127.0.0.1 -p "$PORT" -t 30 >&2

if [[ "$(as_postgres psql -p "$PORT" -tAc "SELECT 1 FROM pg_roles WHERE rolname='$ROLE'")" != "1" ]]; then
  log "creating role $ROLE"
  as_postgres psql -p "$PORT" -q -c "CREATE ROLE $ROLE LOGIN SUPERUSER PASSWORD '$PASSWORD'" >&2
fi
if [[ "$(as_postgres psql -p "$PORT" -tAc "SELECT 1 FROM pg_database WHERE datname='$DB'")" != "1" ]]; then
  log "creating database $DB"
  as_postgres createdb -p "$PORT" -O "$ROLE" "$DB" >&2
fi

URL="postgresql+psycopg://$ROLE:$PASSWORD@127.0.0.1:$PORT/$DB"
if [[ "$PRINT_ENV" == "1" ]]; then
  echo "export COUNTERSIGN_TEST_DATABASE_URL=$URL"
else
  log "ready; run:"
  echo "export COUNTERSIGN_TEST_DATABASE_URL=$URL"
fi

#!/usr/bin/env bash
# Test equipment for machines without an image registry: a local stand-in for the official
# `postgres:16-bookworm` that deploy/compose.yaml names, so `podman-compose up` can run here.
#
#   bash scripts/build-local-postgres.sh        # once; later runs find it in podman's store
#
# Built from the Debian base that scripts/build-image.sh imports (localhost/debian:bookworm-min,
# made first if absent) with Debian's own PostgreSQL. Bookworm ships PostgreSQL 15, not 16: the
# tag says what compose asks for, the image's description label says what it is. Its entrypoint
# does what the official image's does for the parts compose uses: on an empty PGDATA it runs
# initdb with POSTGRES_USER as superuser and POSTGRES_PASSWORD (scram-sha-256 over TCP), creates
# POSTGRES_DB, then runs `postgres` as the postgres user (listen_addresses='*' unless a `-c`
# says otherwise; PGPORT is honoured); `pg_isready` is on the PATH for the health check.
# Tagged docker.io/library/postgres:16-bookworm (what the short name resolves to) and
# localhost/postgres:16-bookworm. The compose file users run keeps the official image name.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { echo "build-local-postgres: $*" >&2; }
eval "$(bash scripts/build-image.sh --print-env)"
PODMAN=(podman --runtime runc --cgroup-manager=cgroupfs)
TAG=docker.io/library/postgres:16-bookworm

if [[ "${1:-}" != "--rebuild" ]] && "${PODMAN[@]}" image exists "$TAG"; then
  log "$TAG is already in podman's store"
  exit 0
fi
if ! "${PODMAN[@]}" image exists localhost/debian:bookworm-min; then
  log "the Debian base is missing: building it with scripts/build-image.sh first"
  bash scripts/build-image.sh
fi

CONTEXT="$(mktemp -d /var/tmp/countersign-pg.XXXXXX)"
trap 'rm -rf "$CONTEXT"' EXIT

cat > "$CONTEXT/entrypoint.sh" <<'ENTRY'
#!/bin/bash
# The official image's contract, in short: init an empty PGDATA from POSTGRES_*, then exec postgres.
set -euo pipefail
export PGDATA="${PGDATA:-/var/lib/postgresql/data}"
if [[ "${1:-postgres}" == -* ]]; then set -- postgres "$@"; fi
if [[ "${1:-postgres}" != postgres ]]; then exec "$@"; fi
if [[ "$(id -u)" == 0 ]]; then
  mkdir -p "$PGDATA" /var/run/postgresql
  chown -R postgres:postgres "$PGDATA" /var/run/postgresql
  chmod 700 "$PGDATA"
  exec setpriv --reuid=postgres --regid=postgres --init-groups "$0" "$@"
fi
if [[ ! -s "$PGDATA/PG_VERSION" ]]; then
  : "${POSTGRES_PASSWORD:?POSTGRES_PASSWORD must be set (as for the official image)}"
  user="${POSTGRES_USER:-postgres}"
  db="${POSTGRES_DB:-$user}"
  pwfile="$(mktemp)"
  printf '%s\n' "$POSTGRES_PASSWORD" > "$pwfile"
  initdb -D "$PGDATA" -U "$user" --pwfile="$pwfile" --encoding=UTF8 --locale=C.UTF-8 \
    --auth-local=trust --auth-host=scram-sha-256 >/dev/null
  rm -f "$pwfile"
  echo "host all all all scram-sha-256" >> "$PGDATA/pg_hba.conf"
  echo "listen_addresses = '*'" >> "$PGDATA/postgresql.conf"
  # A socket-only server while the database is created: nothing connects over TCP before it exists.
  pg_ctl -D "$PGDATA" -o "-c listen_addresses=''" -w start >/dev/null
  if [[ "$db" != postgres ]]; then
    psql -v ON_ERROR_STOP=1 -U "$user" -d postgres -q -c "CREATE DATABASE \"$db\""
  fi
  pg_ctl -D "$PGDATA" -m fast -w stop >/dev/null
  echo "entrypoint: initialised $PGDATA (user $user, database $db)"
fi
exec "$@"
ENTRY

cat > "$CONTEXT/Containerfile" <<'RECIPE'
FROM localhost/debian:bookworm-min
LABEL org.opencontainers.image.description="Local stand-in for postgres:16-bookworm (test equipment): PostgreSQL 15 from Debian bookworm"
RUN mkdir -p /etc/postgresql-common/createcluster.d \
 && echo 'create_main_cluster = false' > /etc/postgresql-common/createcluster.d/no-main.conf \
 && printf 'path-exclude /usr/share/doc/*\npath-exclude /usr/share/man/*\npath-exclude /usr/share/locale/*\n' \
      > /etc/dpkg/dpkg.cfg.d/slim \
 && apt-get update && apt-get install -y --no-install-recommends postgresql-15 \
 && apt-get clean && rm -rf /var/lib/apt/lists/* /var/cache/apt/* \
 && mkdir -p /var/lib/postgresql/data /var/run/postgresql \
 && chown -R postgres:postgres /var/lib/postgresql /var/run/postgresql
COPY entrypoint.sh /usr/local/bin/docker-entrypoint.sh
RUN chmod 755 /usr/local/bin/docker-entrypoint.sh
ENV PATH=/usr/lib/postgresql/15/bin:$PATH PGDATA=/var/lib/postgresql/data
VOLUME /var/lib/postgresql/data
STOPSIGNAL SIGINT
EXPOSE 5432
ENTRYPOINT ["docker-entrypoint.sh"]
CMD ["postgres"]
RECIPE

log "building $TAG from localhost/debian:bookworm-min (Debian's PostgreSQL 15)"
start=$(date +%s)
"${PODMAN[@]}" build --network=host -t "$TAG" -t localhost/postgres:16-bookworm "$CONTEXT" >&2
log "built $TAG in $(($(date +%s) - start)) s"

#!/usr/bin/env bash
# Build the countersign image with podman where Docker and image registries are absent (CI here).
#
#   bash scripts/build-image.sh [TAG]        # default tag: localhost/countersign:dev
#
# The Dockerfile is the one users build with Docker (`FROM python:3.11-slim-bookworm`). This
# machine cannot pull it, so the script first makes a stand-in from Debian's own packages, once:
# debootstrap a minimal bookworm, import it, apt-get install python3 python3-venv, and tag the
# result localhost/python:3.11-slim-bookworm, which podman resolves the FROM line to. Both base
# images stay in podman's store, so later runs skip straight to the app build.
#
# `source scripts/build-image.sh --env` (or `eval "$(bash scripts/build-image.sh --print-env)"`)
# only sets up the podman wrapper variables for other scripts (scripts/image-test.sh).
set -euo pipefail
cd "$(dirname "$0")/.."

log() { echo "build-image: $*" >&2; }

CONF_DIR="${XDG_CACHE_HOME:-$HOME/.cache}/countersign-image"
mkdir -p "$CONF_DIR"
# crun fails on this kernel's hybrid cgroups and the default ulimits are refused: use runc,
# cgroupfs and no default ulimits (docs: STACK-NOTES "Containers on these machines").
printf '[containers]\ndefault_ulimits = []\n' > "$CONF_DIR/containers.conf"
export CONTAINERS_CONF="$CONF_DIR/containers.conf"
PODMAN=(podman --runtime runc --cgroup-manager=cgroupfs)

if [[ "${1:-}" == "--print-env" ]]; then
  echo "export CONTAINERS_CONF=$CONTAINERS_CONF"
  exit 0
fi

TAG="${1:-localhost/countersign:dev}"
CA_BUNDLE="${CA_BUNDLE:-/etc/ssl/certs/ca-certificates.crt}"
MIRROR="${DEBIAN_MIRROR:-$(sed -n 's/^URIs: *\(http[^ ]*debian\)$/\1/p' /etc/apt/sources.list.d/debian.sources 2>/dev/null | head -n 1)}"
MIRROR="${MIRROR:-http://deb.debian.org/debian}"

need_root_install() {
  if ! command -v "$1" >/dev/null 2>&1; then
    log "installing $2 with apt-get"
    local sudo=(); [[ "$(id -u)" == "0" ]] || sudo=(sudo)
    "${sudo[@]}" apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq $2 >&2
  fi
}
need_root_install podman "podman runc"
need_root_install runc runc

has_image() { "${PODMAN[@]}" image exists "$1"; }

if ! has_image localhost/python:3.11-slim-bookworm; then
  if ! has_image localhost/debian:bookworm-min; then
    need_root_install debootstrap debootstrap
    ROOTFS="$(mktemp -d /var/tmp/countersign-rootfs.XXXXXX)"
    log "debootstrap bookworm from $MIRROR (once; about 1.5 minutes)"
    debootstrap --variant=minbase bookworm "$ROOTFS" "$MIRROR" >&2
    # What debian:bookworm-slim leaves out too: downloaded .debs, package lists, docs, man pages.
    rm -rf "$ROOTFS"/var/cache/apt/archives/*.deb "$ROOTFS"/var/lib/apt/lists/* \
      "$ROOTFS"/usr/share/doc/* "$ROOTFS"/usr/share/man/* "$ROOTFS"/usr/share/info/*
    tar -C "$ROOTFS" -c . | "${PODMAN[@]}" import - localhost/debian:bookworm-min >&2
    rm -rf "$ROOTFS"
  fi
  log "building the local stand-in for python:3.11-slim-bookworm"
  "${PODMAN[@]}" build --network=host -t localhost/python:3.11-slim-bookworm -f - . >&2 <<'BASE'
FROM localhost/debian:bookworm-min
RUN printf 'path-exclude /usr/share/doc/*\npath-exclude /usr/share/man/*\npath-exclude /usr/share/locale/*\n' \
      > /etc/dpkg/dpkg.cfg.d/slim \
 && apt-get update && apt-get install -y --no-install-recommends python3 python3-venv ca-certificates \
 && ln -s /usr/bin/python3 /usr/local/bin/python && ln -s /usr/bin/python3 /usr/local/bin/python3 \
 && apt-get clean && rm -rf /var/lib/apt/lists/* /var/cache/apt/*
CMD ["python3"]
BASE
fi

VERSION="$(sed -n 's/^version = "\(.*\)"$/\1/p' pyproject.toml | head -n 1)"
REVISION="$(git rev-parse HEAD 2>/dev/null || echo unknown)"
if [[ -n "$(git status --porcelain --untracked-files=no 2>/dev/null)" ]]; then REVISION="$REVISION-dirty"; fi
# pip inside RUN needs the host's CA bundle; it is mounted for the build, never copied in.
MOUNTS=(-v "$CA_BUNDLE:/etc/ssl/certs/ca-certificates.crt:ro")

log "building $TAG (version $VERSION, revision $REVISION)"
start=$(date +%s)
"${PODMAN[@]}" build --format docker --network=host --layers "${MOUNTS[@]}" \
  --build-arg "VERSION=$VERSION" --build-arg "REVISION=$REVISION" \
  -t "$TAG" . >&2
end=$(date +%s)
size="$("${PODMAN[@]}" image inspect "$TAG" --format '{{.Size}}')"
log "built $TAG in $((end - start)) s, $((size / 1000000)) MB"

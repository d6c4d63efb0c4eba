#!/usr/bin/env bash
# `make image-test`: build the image, start PostgreSQL, and run tests/image (migrate, one web and
# two workers from the image against the GitHub simulator; one agent PR to a verified merge; a
# worker killed with -9 mid-batch; then deploy/compose.yaml brought up with podman-compose).
# Prints the build time and size, and up -> first check run.
set -euo pipefail
cd "$(dirname "$0")/.."
TAG="${COUNTERSIGN_IMAGE:-localhost/countersign:test}"

eval "$(bash scripts/start-postgres.sh --print-env)"
bash scripts/build-image.sh "$TAG"
bash scripts/build-local-postgres.sh  # the stand-in for compose's postgres:16-bookworm, once
eval "$(bash scripts/build-image.sh --print-env)"
export COUNTERSIGN_IMAGE="$TAG"
.venv/bin/pytest -p no:cacheprovider -m container -s -q tests/image

# syntax=docker/dockerfile:1
# Debian-based: cedarpy ships no musllinux wheel (STACK-NOTES.md).
# Build: docker build --build-arg VERSION=0.1.0 --build-arg REVISION="$(git rev-parse HEAD)" -t countersign .
# (scripts/build-image.sh passes both and builds with podman where Docker is absent.)

# ---- build: a wheel of the app and a venv with it and its pinned dependencies ----
FROM python:3.11-slim-bookworm AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 PYTHONDONTWRITEBYTECODE=1
# binutils only here, for `strip`: the wheels' shared libraries carry symbols the runtime never
# reads (about 19 MB). Nothing of this stage but /opt/venv reaches the image.
RUN apt-get update && apt-get install -y --no-install-recommends binutils && rm -rf /var/lib/apt/lists/*
WORKDIR /src
# Dependencies first, from pyproject's pinned list: this layer is reused until pyproject changes.
COPY pyproject.toml ./
RUN python -m venv /opt/build && /opt/build/bin/pip install --no-cache-dir "hatchling==1.27.0" \
 && python -m venv --without-pip /opt/venv \
 && python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" > /tmp/requirements.txt \
 && /opt/build/bin/pip --python /opt/venv/bin/python install --no-cache-dir -r /tmp/requirements.txt \
 && find /opt/venv -depth -type d \( -name tests -o -name test \) -path '*/site-packages/*/*' -prune -exec rm -rf {} + \
 && find /opt/venv -name '*.so*' -type f -exec strip --strip-unneeded {} +
# Then the app itself, as a wheel (pyproject force-includes these folders and app.yml).
COPY README.md alembic.ini app.yml ./
COPY app ./app
COPY risk_rules ./risk_rules
COPY policies ./policies
COPY migrations ./migrations
RUN /opt/build/bin/pip wheel --no-cache-dir --no-deps --no-build-isolation -w /wheels . \
 && /opt/build/bin/pip --python /opt/venv/bin/python install --no-cache-dir --no-deps /wheels/*.whl

# ---- runtime: the venv only; no compilers, no pip, no tests or bench ----
FROM python:3.11-slim-bookworm
ARG VERSION=unknown
ARG REVISION=unknown
ARG SOURCE=https://github.com/countersign/countersign
LABEL org.opencontainers.image.title="countersign" \
      org.opencontainers.image.description="A policy-enforced gate between AI agents and the systems they change, as a GitHub App." \
      org.opencontainers.image.source="${SOURCE}" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.licenses="Apache-2.0"
RUN useradd --system --uid 10001 --home-dir /app --no-create-home countersign \
 && mkdir -p /app /data && chown 10001:10001 /data
COPY --from=build /opt/venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1 \
    COUNTERSIGN_REVISION=${REVISION} \
    COUNTERSIGN_DATABASE_URL=sqlite:////data/countersign.db
USER 10001:10001
WORKDIR /app
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD python -c "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4).status == 200 else 1)"
CMD ["countersign", "serve", "--host", "0.0.0.0", "--port", "8000"]

# syntax=docker/dockerfile:1
# Debian-based: cedarpy ships no musllinux wheel (STACK-NOTES.md).
FROM python:3.11-slim-bookworm AS build
WORKDIR /src
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
COPY pyproject.toml README.md alembic.ini ./
COPY app ./app
COPY risk_rules ./risk_rules
COPY policies ./policies
COPY migrations ./migrations
RUN pip install --upgrade pip && pip wheel --no-deps -w /wheels . && pip install /wheels/*.whl

FROM python:3.11-slim-bookworm
RUN useradd --system --uid 10001 --home /app countersign
COPY --from=build /opt/venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH PYTHONUNBUFFERED=1 \
    COUNTERSIGN_DATABASE_URL=sqlite:////data/countersign.db
RUN mkdir /data && chown countersign /data
USER countersign
WORKDIR /app
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD python -c "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4).status == 200 else 1)"
CMD ["countersign", "serve", "--host", "0.0.0.0", "--port", "8000"]

# syntax=docker/dockerfile:1
# ClimaSense API / worker image (docs/deployment.md).
#
# Two stages: `build` installs the dependencies from the hash-pinned lock file
# (`requirements.lock`, written by `scripts/lock`; `pip --require-hashes` refuses anything that
# is not in it) and then the project itself without dependencies; the runtime stage copies
# only the virtualenv, runs as an unprivileged user and checks /healthz.
#
# The image has no embedded PostgreSQL: set CLIMASENSE_DATABASE_URL (and
# CLIMASENSE_SECRET_KEY). The same image runs `serve`, `worker` and `migrate`.

ARG PYTHON_IMAGE=python:3.11.10-slim-bookworm

FROM ${PYTHON_IMAGE} AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
RUN python -m venv /opt/climasense
ENV PATH=/opt/climasense/bin:$PATH
WORKDIR /src
COPY requirements.lock ./
RUN pip install --require-hashes --no-deps -r requirements.lock
COPY pyproject.toml README.md LICENSE ./
COPY src ./src
RUN pip install --no-deps . \
 && python -c "import climasense.api.app"

FROM ${PYTHON_IMAGE} AS runtime
RUN groupadd --system --gid 10001 climasense \
 && useradd --system --uid 10001 --gid climasense --home-dir /home/climasense \
    --create-home --shell /usr/sbin/nologin climasense
COPY --from=build /opt/climasense /opt/climasense
ENV PATH=/opt/climasense/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    CLIMASENSE_LOG_FORMAT=json \
    CLIMASENSE_DATA_DIR=/home/climasense/data
USER climasense:climasense
WORKDIR /home/climasense
EXPOSE 8000
# The API's health check; the worker's compose service and pod override it (port 9100).
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
  CMD ["python", "-c", "import sys, urllib.request; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=2).status != 200)"]
ENTRYPOINT ["climasense"]
CMD ["serve", "--host", "0.0.0.0", "--port", "8000", "--workers", "2", "--no-worker"]

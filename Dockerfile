# syntax=docker/dockerfile:1
# One image for every service (web, worker, beat, migrate); the command picks the role.
#
#   docker build -t streams-prefetcher .
#   docker build --build-arg UID=1000 --build-arg GID=1000 -t streams-prefetcher .

ARG PYTHON_IMAGE=python:3.11-slim

# --- requirements: the pinned dependencies listed in pyproject.toml, as a requirements file ----------
FROM ${PYTHON_IMAGE} AS requirements
WORKDIR /src
COPY pyproject.toml ./
# EXTRAS: optional dependency groups to add (notify = Apprise for NOTIFY_APPRISE_URL); "" for none.
ARG EXTRAS=notify
RUN python -c 'import sys, tomllib; p = tomllib.load(open("pyproject.toml", "rb"))["project"]; \
print("\n".join(p["dependencies"] + [d for e in sys.argv[1].split(",") if e for d in p["optional-dependencies"][e]]))' \
        "${EXTRAS}" > /requirements.txt

# --- build stage: a virtualenv with the pinned dependencies -------------------------------------------
FROM ${PYTHON_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
# Copied by content: the install below stays cached when pyproject.toml changes elsewhere (tool settings).
COPY --from=requirements /requirements.txt /tmp/requirements.txt
RUN pip install -r /tmp/requirements.txt

# --- runtime stage ----------------------------------------------------------------------------------
FROM ${PYTHON_IMAGE} AS runtime
ARG UID=1000
ARG GID=1000
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    DJANGO_SETTINGS_MODULE=prefetcher_site.settings \
    DATA_DIR=/data \
    STATIC_ROOT=/app/staticfiles \
    PORT=8000

RUN groupadd --gid "${GID}" app \
    && useradd --uid "${UID}" --gid "${GID}" --home-dir /app --no-create-home --shell /usr/sbin/nologin app \
    && mkdir -p /data /app \
    && chown app:app /data

COPY --from=build /opt/venv /opt/venv
WORKDIR /app
COPY --chown=root:root manage.py ./
COPY --chown=root:root prefetcher_site ./prefetcher_site
COPY --chown=root:root addons ./addons
COPY --chown=root:root prefetch ./prefetch
COPY --chown=root:root schedules ./schedules
COPY --chown=root:root templates ./templates
COPY --chown=root:root static ./static

# Hashed, compressed static files served by ServeStatic (no secret or database needed for this).
RUN STATIC_MANIFEST=true SECRET_KEY=collectstatic-only DATA_DIR=/tmp/build-data \
    python manage.py collectstatic --noinput --verbosity 0 \
    && rm -rf /tmp/build-data

USER app
VOLUME ["/data"]
EXPOSE 8000
# Each compose service sets its own healthcheck; this default fits the web role.
HEALTHCHECK --interval=30s --timeout=10s --start-period=30s --retries=3 \
    CMD ["python", "manage.py", "healthcheck", "--http"]
CMD ["sh", "-c", "exec gunicorn prefetcher_site.asgi:application -k uvicorn_worker.UvicornWorker --bind 0.0.0.0:${PORT} --workers ${WEB_CONCURRENCY:-2} --forwarded-allow-ips ${FORWARDED_ALLOW_IPS:-127.0.0.1} --access-logfile - --graceful-timeout 20"]

# The chat backend served by Daphne. Configuration comes from the environment at run time
# (see .env.example and docker-compose.yml); nothing secret is baked into the image.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app

# The app runs unprivileged and owns nothing: code and static files stay read-only to it.
RUN groupadd --system app && useradd --system --gid app --no-create-home --shell /usr/sbin/nologin app

# Requirements first, so code changes reuse the installed-packages layer.
COPY requirements.txt .
# A lock with hashes (`make lock`): pip checks every file it downloads against them.
RUN pip install --require-hashes -r requirements.txt

COPY . .

# collectstatic imports settings, which insist on a SECRET_KEY when DEBUG is off: give it a
# build-only value in this one command, never an ENV that would outlive the build.
RUN SECRET_KEY=build-only-collectstatic-not-a-secret DEBUG=0 python manage.py collectstatic --noinput -v0

# Uploads (MEDIA_ROOT) are the one thing the app writes: a directory of its own. Compose mounts the
# `media` volume here, and a new named volume starts as a copy of this directory, owner included.
ENV MEDIA_ROOT=/app/media
RUN mkdir -p /app/media && chown app:app /app/media

USER app

EXPOSE 8000

# WORKERS (default 1) Daphne processes share the port; more than one needs REDIS_URL.
CMD ["python", "-m", "chatproject.serve", "--host", "0.0.0.0", "--port", "8000", "--", "--websocket-max-message-size", "65536"]

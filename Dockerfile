# syntax=docker/dockerfile:1
# Build: docker build -t socialbot .    Run: docker run --env-file .env -p 3000:3000 socialbot
FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY handlers ./handlers
RUN pip install --no-cache-dir --prefix=/install .

FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 \
    DATABASE_URL=sqlite:////data/socialbot.db SOCIALBOT_RULES=/app/routing_rules.yaml
COPY --from=build /install /usr/local
RUN useradd --system --uid 10001 --home-dir /app socialbot && mkdir -p /data /app \
    && chown socialbot /data
WORKDIR /app
# Migrations are found next to the installed package or in ./migrations (bot/db.py).
COPY alembic.ini routing_rules.yaml ./
COPY migrations ./migrations
USER socialbot
EXPOSE 3000
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s \
  CMD python -c "import urllib.request,sys; sys.exit(urllib.request.urlopen('http://127.0.0.1:3000/healthz', timeout=4).status != 200)"
CMD ["sh", "-c", "socialbot migrate && exec socialbot run --http 3000"]

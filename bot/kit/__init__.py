"""Infrastructure with no feature in it: what any feature may build on.

- `db`: engines, sessions, Alembic migrations (`upgrade_to_head`); `models`: the SQLAlchemy
  tables; `bulk`: COPY / multi-row inserts for ingest;
- `leader`: one leader among replicas (PostgreSQL advisory lock); `scheduler`: the APScheduler
  every job runs on; `worker`: a background thread with start/stop/wake;
- `http`: the WSGI surface (Slack endpoint, `/healthz`, `/metrics`); `metrics`: Prometheus;
  `logs`: text/JSON logging with secrets redacted; `housekeeping`: pruning finished rows.

Imports: `bot.domain` (value types the tables store), `bot.config`, third-party libraries.
Never a feature package, a network or `handlers` (enforced by `.importlinter`).
"""

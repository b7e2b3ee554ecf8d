"""The deploy files, checked for meaning (no Docker engine here to run them): docker-compose.yml
runs the bot in Socket Mode on a healthy PostgreSQL 16 with a volume; the Dockerfile is
multi-stage, slim, runs as a non-root user, checks /healthz on the port the bot serves it on,
and starts with `socialbot run` (which migrates first)."""

from __future__ import annotations

import io
import json
import re
import shlex

import pytest
import yaml
from prometheus_client import CollectorRegistry, Counter
from sqlalchemy.engine import make_url

from bot.config import Settings
from bot.kit.http import health_app
from tests.support.paths import ROOT

SETTINGS = set(Settings.model_fields)


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def dockerfile() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    text = re.sub(r"\\\n\s*", " ", (ROOT / "Dockerfile").read_text())
    out = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            out.append((word.upper(), rest.strip()))
    return out


def env_pairs(args: str) -> dict[str, str]:
    return dict(part.split("=", 1) for part in shlex.split(args))


def test_compose_runs_postgres_16_with_a_healthcheck_and_a_volume(compose):
    db = compose["services"]["db"]
    assert db["image"] == "postgres:16"
    test = db["healthcheck"]["test"]
    assert test[0] in ("CMD", "CMD-SHELL") and "pg_isready" in " ".join(test)
    [mount] = db["volumes"]
    volume, target = mount.split(":")[:2]
    assert target == "/var/lib/postgresql/data" and volume in compose["volumes"]


def test_compose_bot_waits_for_a_healthy_db_and_points_database_url_at_it(compose):
    bot, db = compose["services"]["bot"], compose["services"]["db"]
    assert bot["build"] == "."
    assert bot["depends_on"]["db"]["condition"] == "service_healthy"
    env = bot["environment"]
    expand = lambda v: re.sub(r"\$\{(\w+):-([^}]*)\}", lambda m: m[2], str(v))  # noqa: E731
    url = make_url(expand(env["DATABASE_URL"]))
    db_env = {k: expand(v) for k, v in db["environment"].items()}
    assert (url.drivername, url.host, url.port) == ("postgresql+psycopg", "db", 5432)
    assert (url.username, url.password, url.database) == (
        db_env["POSTGRES_USER"], db_env["POSTGRES_PASSWORD"], db_env["POSTGRES_DB"])
    assert set(env) <= SETTINGS  # every variable is one the bot reads
    assert bot["env_file"] == ".env"  # the Slack tokens; never in this file
    assert not any("TOKEN" in k or "SECRET" in k for k in env)


def test_compose_runs_socket_mode_and_stops_gracefully(compose):
    bot = compose["services"]["bot"]
    assert "command" not in bot  # the image's `socialbot run`: Socket Mode with SLACK_APP_TOKEN
    assert "ports" not in bot  # Socket Mode needs no inbound port
    assert bot.get("stop_signal", "SIGTERM") == "SIGTERM"
    assert int(bot["environment"]["SOCIALBOT_HEALTH_PORT"]) == healthcheck_port()


def healthcheck_port() -> int:
    [args] = [a for ins, a in dockerfile() if ins == "HEALTHCHECK"]
    m = re.search(r"http://127\.0\.0\.1:(\d+)/healthz", args)
    assert m, args
    return int(m[1])


def test_dockerfile_is_multi_stage_slim_and_non_root():
    steps = dockerfile()
    froms = [a for ins, a in steps if ins == "FROM"]
    assert len(froms) >= 2 and all("-slim" in f for f in froms)
    final = len(steps) - 1 - [ins for ins, _ in steps][::-1].index("FROM")
    last_stage = steps[final:]
    users = [a for ins, a in last_stage if ins == "USER"]
    assert users and users[-1] not in ("root", "0")
    assert [i for i, _ in last_stage].index("USER") < [i for i, _ in last_stage].index("CMD")
    copies = [a for ins, a in last_stage if ins == "COPY"]
    assert any(a.startswith("--from=") for a in copies)  # only the built result is carried over


def test_dockerfile_health_port_env_and_start_command():
    steps = dockerfile()
    env: dict[str, str] = {}
    for ins, args in steps:
        if ins == "ENV":
            env |= env_pairs(args)
    assert int(env["SOCIALBOT_HEALTH_PORT"]) == healthcheck_port() == 3000  # = HTTP default
    assert {k for k in env if k.startswith(("SOCIALBOT_", "DATABASE_"))} <= SETTINGS
    [cmd] = [a for ins, a in steps if ins == "CMD"]
    assert json.loads(cmd) == ["socialbot", "run"]  # exec form: SIGTERM reaches the bot
    for ins, args in steps:  # every COPY source exists in the repository
        if ins == "COPY" and not args.startswith("--from="):
            for src in shlex.split(args)[:-1]:
                assert (ROOT / src).exists(), src
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert ".env" in ignored  # secrets never enter the build context


def test_the_socket_mode_health_server_answers_health_and_metrics_only():
    registry = CollectorRegistry()
    Counter("socialbot_test", "x", registry=registry).inc()
    state = {"ok": (True, "ok")}
    app = health_app(lambda: state["ok"], registry)

    def call(method: str, path: str) -> tuple[str, bytes]:
        got: dict[str, str] = {}
        body = b"".join(app({"REQUEST_METHOD": method, "PATH_INFO": path,
                             "wsgi.input": io.BytesIO()},
                            lambda status, headers: got.setdefault("status", status)))
        return got["status"], body

    assert call("GET", "/healthz") == ("200 OK", b"ok")
    assert "socialbot_test_total 1.0" in call("GET", "/metrics")[1].decode()
    state["ok"] = (False, "database unavailable: OperationalError")
    assert call("GET", "/healthz")[0].startswith("503")
    # No Slack endpoint here: in Socket Mode an unsigned POST must not reach the Bolt app.
    assert call("POST", "/slack/events")[0].startswith("404")


def test_the_manifest_usage_hint_names_every_social_subcommand():
    from bot.slack.ids import SocialSubcommand

    manifest = yaml.safe_load((ROOT / "slack_manifest.yaml").read_text())
    hint = manifest["features"]["slash_commands"][0]["usage_hint"]
    assert all(sub.value in hint for sub in SocialSubcommand), hint

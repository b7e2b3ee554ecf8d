"""Leadership: one PostgreSQL advisory lock, one leader; a dead leader is replaced within one
heartbeat; on SQLite the only process leads. Scheduler jobs run only on the leader."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime

import pytest
from apscheduler.schedulers.background import BackgroundScheduler
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from bot.kit.db import upgrade_to_head
from bot.kit.leader import (
    LOCK_KEY,
    LeaderOnlyExecutor,
    PostgresLeader,
    SingleProcess,
    lock_oids,
    make_leadership,
    migration_lock,
)


@pytest.fixture
def pg_url(request: pytest.FixtureRequest) -> str:
    return request.getfixturevalue("postgres_database").rendered


@pytest.fixture
def leaders(pg_url):
    made: list[PostgresLeader] = []

    def make(**kwargs) -> PostgresLeader:
        leader = PostgresLeader(pg_url, **kwargs)
        made.append(leader)
        return leader

    yield make
    for leader in made:
        leader.stop()


def terminate(url: str, pid: int) -> None:
    """What the server does to a killed leader's session: end it (waiting until it's gone)."""
    engine = create_engine(url, poolclass=NullPool, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            assert conn.execute(text("SELECT pg_terminate_backend(:pid, 5000)"),
                                {"pid": pid}).scalar_one()
    finally:
        engine.dispose()


def held_by(url: str, key: int = LOCK_KEY) -> list[int]:
    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as conn:
            return list(conn.execute(text(
                "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted "
                "AND objsubid = 1 AND classid = CAST(:hi AS oid) AND objid = CAST(:lo AS oid) "
                # Advisory locks are per database: another bot on the same server (a test
                # run beside this one) holds its own.
                "AND database = (SELECT oid FROM pg_database "
                "WHERE datname = current_database())"),
                lock_oids(key)).scalars())
    finally:
        engine.dispose()


@pytest.mark.postgres
def test_of_two_replicas_one_leads_and_the_other_takes_over_when_it_dies(pg_url, leaders):
    changes: list[tuple[str, bool]] = []
    a = leaders(on_change=lambda v: changes.append(("a", v)))
    b = leaders(on_change=lambda v: changes.append(("b", v)))
    assert (a.check(), b.check()) == (True, False)
    for _ in range(3):  # heartbeats keep things as they are
        assert (a.check(), b.check()) == (True, False)
    assert held_by(pg_url) == [a.backend_pid]

    terminate(pg_url, a.backend_pid)  # the leader's session ends: kill -9, crash, lost network
    assert b.check() is True  # the follower's next heartbeat takes over
    assert a.check() is False  # the old leader's heartbeat fails: it steps down, can't retake
    assert (a.is_leader, b.is_leader) == (False, True)
    assert held_by(pg_url) == [b.backend_pid]
    assert changes == [("a", True), ("b", True), ("a", False)]


@pytest.mark.postgres
def test_a_leader_whose_connection_died_steps_down_before_anyone_else_leads(pg_url, leaders):
    a, b = leaders(), leaders()
    assert a.check()
    terminate(pg_url, a.backend_pid)
    # Heartbeats the other way round: the old leader notices first and steps down (it
    # doesn't go on leading on a session that is gone); whoever asks next leads.
    assert a.check() is False
    assert b.check() is True
    assert a.check() is False
    assert held_by(pg_url) == [b.backend_pid]


@pytest.mark.postgres
def test_stop_hands_over_at_once(pg_url, leaders):
    a, b = leaders(), leaders()
    assert (a.check(), b.check()) == (True, False)
    a.stop()
    assert not a.is_leader
    assert b.check() is True
    assert a.check() is False  # stopped for good


@pytest.mark.postgres
def test_the_heartbeat_thread_takes_over_within_one_interval(pg_url, leaders):
    interval = 0.1
    a, b = leaders(interval=interval), leaders(interval=interval)
    a.start()
    b.start()
    assert (a.is_leader, b.is_leader) == (True, False)
    took_over = threading.Event()
    b.on_change = lambda leading: leading and took_over.set()
    killed_at = time.monotonic()
    terminate(pg_url, a.backend_pid)
    assert took_over.wait(5), "the follower never took over"
    elapsed = time.monotonic() - killed_at
    assert elapsed < interval + 1.5  # one heartbeat, plus slack for a loaded box
    deadline = time.monotonic() + 5
    while a.is_leader and time.monotonic() < deadline:
        threading.Event().wait(interval / 2)  # the old leader's thread notices within one beat
    assert (a.is_leader, b.is_leader) == (False, True)


def test_nobody_leads_while_the_database_is_unreachable():
    dead = PostgresLeader("postgresql+psycopg://postgres@127.0.0.1:1/none",
                          connect_args={"connect_timeout": 1})
    try:
        assert dead.check() is False  # no exception: it tries again at the next heartbeat
        assert dead.check() is False
    finally:
        dead.stop()


def test_on_sqlite_the_single_process_leads_and_says_so(tmp_path, caplog):
    leadership = make_leadership(f"sqlite:///{tmp_path / 'x.db'}")
    assert isinstance(leadership, SingleProcess)
    with caplog.at_level(logging.INFO, logger="bot.kit.leader"):
        leadership.start()
    assert leadership.is_leader
    assert "single process" in caplog.text


def test_make_leadership_uses_the_advisory_lock_on_postgresql():
    leadership = make_leadership("postgresql://u@127.0.0.1:1/db")
    try:
        assert isinstance(leadership, PostgresLeader)
        assert leadership.engine.dialect.driver == "psycopg"
    finally:
        leadership.stop()


def test_scheduler_jobs_run_only_while_leading():
    leading = [False]
    ran = threading.Event()
    scheduler = BackgroundScheduler(timezone=UTC)
    executor = LeaderOnlyExecutor(lambda: leading[0])
    scheduler.add_executor(executor, "default")
    scheduler.start(paused=True)  # jobs are submitted by hand below, not by the clock
    try:
        job = scheduler.add_job(ran.set, "interval", hours=1, max_instances=1)
        executor.submit_job(job, [datetime.now(UTC)])
        assert not ran.wait(0.2)
        # A skipped run holds no instance slot, so max_instances=1 never blocks the next
        # (a submit over the limit raises MaxInstancesReachedError).
        executor.submit_job(job, [datetime.now(UTC)])
        leading[0] = True
        executor.submit_job(job, [datetime.now(UTC)])
        assert ran.wait(5)
    finally:
        scheduler.shutdown()


def migrate_processes(url: str, n: int) -> list[subprocess.CompletedProcess]:
    """`socialbot migrate` in `n` processes started together (as replicas start)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE", "SOCIALBOT_"))}
    procs = [subprocess.Popen([sys.executable, "-m", "bot", "migrate"], env={
        **env, "DATABASE_URL": url}, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(n)]
    done = []
    for proc in procs:
        out, err = proc.communicate(timeout=120)
        done.append(subprocess.CompletedProcess(proc.args, proc.returncode, out, err))
    return done


@pytest.mark.postgres
def test_replicas_starting_together_migrate_one_after_the_other(request):
    database = request.getfixturevalue("postgres_database")
    url = database.empty()
    results = migrate_processes(url, 3)
    assert [r.returncode for r in results] == [0, 0, 0], [r.stderr[-2000:] for r in results]
    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM alembic_version")).scalar_one() == 1
    finally:
        engine.dispose()
    database.at_head = True


def test_migration_lock_is_a_no_op_on_sqlite(tmp_path):
    url = f"sqlite:///{tmp_path / 'x.db'}"
    with migration_lock(url):
        upgrade_to_head(url)

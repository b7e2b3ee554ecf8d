"""`/social report|status|export` over real signed HTTP: acked at once, then the figures reach
the fake Slack (ephemeral via response_url, or in the channel with `public`) and the chart is
uploaded with files_upload_v2 (getUploadURLExternal → upload → completeUploadExternal)."""

from __future__ import annotations

import csv
import io
import time

from tests.support.bot_server import FORM, slash

CHANNEL, USER = "C0CARE00001", "U0ANA"
DM = "D" + USER  # what the fake's conversations.open answers


def _wait_ingested(bot_server, timeout: float = 10.0) -> int:
    """The RSS source polls at start; wait until its mentions are stored."""
    from sqlalchemy import func, select

    from bot.kit.models import Mention

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with bot_server.runtime.factory() as s:
            n = s.scalar(select(func.count()).select_from(Mention)) or 0
        if n:
            return n
        time.sleep(0.05)
    raise AssertionError("no mentions ingested")


def test_report_is_acked_fast_then_posted_privately_with_a_chart(bot_server, fake_slack):
    n = _wait_ingested(bot_server)
    t0 = time.monotonic()
    resp = bot_server.post("/slack/events", slash(fake_slack, "report 7d"), content_type=FORM)
    ack = time.monotonic() - t0
    assert resp.status == 200 and ack < 3.0
    call = fake_slack.wait_for("respond", timeout=20)
    assert call.params["response_type"] == "ephemeral"
    blocks = str(call.params["blocks"])
    assert "Social report · 7d" in blocks and "The chart is in your DM with me." in blocks
    assert f"{n:,} mentions" in call.params["text"]
    # The upload happened before the figures were sent, to the asker's DM.
    files = fake_slack.files()
    assert len(files) == 1 and files[0]["channel"] == DM
    assert files[0]["data"].startswith(b"\x89PNG\r\n\x1a\n")
    assert files[0]["length"] == len(files[0]["data"])
    assert files[0]["filename"].endswith(".png")
    assert [c.method for c in fake_slack.calls if c.method in (
        "files.getUploadURLExternal", "upload", "files.completeUploadExternal")] == [
        "files.getUploadURLExternal", "upload", "files.completeUploadExternal"]


def test_public_report_goes_to_the_channel_with_the_chart_in_its_thread(bot_server, fake_slack):
    _wait_ingested(bot_server)
    resp = bot_server.post("/slack/events", slash(fake_slack, "report today public"),
                           content_type=FORM)
    assert resp.status == 200
    fake_slack.wait_for("files.completeUploadExternal", timeout=20)
    posted = [m for m in fake_slack.posts(CHANNEL) if "Social report" in str(m["blocks"])]
    assert len(posted) == 1
    files = fake_slack.files(CHANNEL)
    assert len(files) == 1 and files[0]["thread_ts"] == posted[0]["ts"]
    assert fake_slack.calls_to("respond") == []


def test_status_export_help_and_a_bad_word(bot_server, fake_slack):
    _wait_ingested(bot_server)
    bot_server.post("/slack/events", slash(fake_slack, "status"), content_type=FORM)
    status = fake_slack.wait_for("respond", timeout=20)
    assert "socialbot status" in status.params["text"] and "alerts" in str(status.params["blocks"])

    bot_server.post("/slack/events", slash(fake_slack, "export 30d"), content_type=FORM)
    fake_slack.wait_for("files.completeUploadExternal", timeout=20)
    [export] = fake_slack.files(DM)
    rows = list(csv.reader(io.StringIO(export["data"].decode())))
    assert rows[0][:3] == ["id", "ingested_at", "created_at"] and len(rows) > 1

    bot_server.post("/slack/events", slash(fake_slack, "frobnicate"), content_type=FORM)
    fake_slack.wait_for_call(lambda c: c.method == "respond" and "/social status"
                             in str(c.params.get("blocks")), timeout=10)

    bot_server.post("/slack/events", slash(fake_slack, "report 7x"), content_type=FORM)
    err = fake_slack.wait_for("chat.postEphemeral", timeout=10)
    assert "is not a period, a team or" in err.params["text"]

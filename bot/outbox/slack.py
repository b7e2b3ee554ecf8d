"""The outbox's Slack calls: one row → one message, and finding a message again by its row.

Every posted message carries Slack message metadata naming its outbox row
(`socialbot_card` with the mention for cards, `socialbot_post` for the rest). That is what
makes a lost answer recoverable: `find_posted` reads the channel (or the card's thread) with
`include_all_metadata` and looks for the row's id. A file's message can't carry metadata: it
is found by its file name instead, which the row's payload sets (one row, one name).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from slack_sdk import WebClient

from bot.domain.outbox import OutboxKind
from bot.outbox.pacing import scope_of
from bot.outbox.queue import THREAD_OF
from bot.outbox.tuning import RECONCILE_MAX_PAGES, RECONCILE_SKEW

CARD_EVENT = "socialbot_card"
POST_EVENT = "socialbot_post"  # digests, alerts, thread replies, DMs
# Can be found again in Slack (verifiable): by their metadata, a file by its name.
POSTED_KINDS = (OutboxKind.CARD, OutboxKind.DIGEST, OutboxKind.ALERT, OutboxKind.THREAD,
                OutboxKind.DM, OutboxKind.FILE)
HISTORY_PAGE = 200  # conversations.history/replies `limit` (Slack's recommended maximum)


class Unverifiable(Exception):
    """Too much history to be sure a post did not go out."""


@dataclass(frozen=True)
class Job:
    """A claimed row as plain values: no ORM object is held across a Slack call."""

    id: int
    kind: OutboxKind
    channel: str  # a channel id; for a `dm`, the user id(s) to open the IM with
    priority: str
    payload: dict[str, Any]
    attempts: int
    created_at: datetime
    error: str | None
    mention_id: int | None
    card_channel: str | None  # the mention's card, for thread replies and updates (or the
    card_ts: str | None  # message an alert's update / a file's thread is about)
    mention_open: bool = False  # its mention still awaits the desk: never give the row up

    @property
    def scope(self) -> str:
        return scope_of(self.kind, self.channel)


def metadata(job: Job) -> dict[str, Any]:
    """Slack message metadata naming the outbox row: how a lost answer is found again."""
    if job.kind == OutboxKind.CARD:
        return {"event_type": CARD_EVENT,
                "event_payload": {"mention_id": job.mention_id, "outbox_id": job.id}}
    return {"event_type": POST_EVENT, "event_payload": {"outbox_id": job.id, "kind": job.kind}}


class SlackPoster:
    def __init__(self, client: WebClient) -> None:
        self.client = client
        self._ims: dict[str, str] = {}  # user id(s) -> IM channel (conversations.open: Tier 3)

    def send(self, job: Job, content: dict[str, Any]) -> tuple[str, str | None]:
        """The Slack call for `job` with the rendered `content`; (channel id, ts) of the
        message. Raises what slack-sdk raises."""
        if job.kind == OutboxKind.UPDATE:
            resp = self.client.chat_update(**{**content, "channel": job.card_channel,
                                              "ts": job.card_ts})
            return resp.get("channel") or job.card_channel or job.channel, job.card_ts
        if job.kind == OutboxKind.EPHEMERAL:
            content = dict(content)
            user = content.pop("user", None) or job.payload.get("user")
            resp = self.client.chat_postEphemeral(**{**content, "channel": job.channel,
                                                     "user": user})
            return job.channel, resp.get("message_ts")
        if job.kind == OutboxKind.FILE:
            # files.getUploadURLExternal, the bytes, files.completeUploadExternal: only the last
            # shows anything, so a failure before it leaves nothing to find and is just retried.
            channel = job.card_channel or job.channel
            self.client.files_upload_v2(**{**content, "channel": channel,
                                           "thread_ts": job.card_ts,
                                           "filename": job.payload["filename"]})
            return channel, None  # a file's message ts isn't in the answer
        extra: dict[str, Any] = {"channel": job.channel, "metadata": metadata(job)}
        if job.kind == OutboxKind.THREAD:
            extra.update(channel=job.card_channel, thread_ts=job.card_ts)
        elif job.kind == OutboxKind.DM:
            extra["channel"] = self.open_im(job.channel)
        resp = self.client.chat_postMessage(**{**content, **extra})  # ours win over render's
        return resp.get("channel") or extra["channel"], resp["ts"]

    def open_im(self, users: str) -> str:
        if users not in self._ims:
            resp = self.client.conversations_open(users=users)
            self._ims[users] = resp["channel"]["id"]
        return self._ims[users]

    def find_posted(self, job: Job) -> tuple[str, str] | None:
        """(channel, ts) of the message carrying this row's metadata, or None. Searches from a
        little before the row was queued (`RECONCILE_SKEW`: Slack's clock is not ours)."""
        oldest = f"{(job.created_at - RECONCILE_SKEW).timestamp():.6f}"
        page: Callable[[str | None], Any]
        if job.kind == OutboxKind.THREAD or (job.kind == OutboxKind.FILE and job.payload.get(THREAD_OF)):
            if not job.card_ts or not job.card_channel:
                return None
            channel, parent = job.card_channel, job.card_ts

            def page(cursor: str | None) -> Any:
                return self.client.conversations_replies(
                    channel=channel, ts=parent, oldest=oldest, include_all_metadata=True,
                    limit=HISTORY_PAGE, cursor=cursor)
        else:
            channel = self.open_im(job.channel) if job.kind == OutboxKind.DM else job.channel

            def page(cursor: str | None) -> Any:
                return self.client.conversations_history(
                    channel=channel, oldest=oldest, include_all_metadata=True,
                    limit=HISTORY_PAGE, cursor=cursor)
        cursor = None
        for _ in range(RECONCILE_MAX_PAGES):
            resp = page(cursor)
            for msg in resp.get("messages") or []:
                if _is_of(msg, job):
                    return channel, msg["ts"]
            cursor = (resp.get("response_metadata") or {}).get("next_cursor")
            if not cursor:
                return None
        raise Unverifiable(f"more than {RECONCILE_MAX_PAGES} pages of history to search")


def _is_of(msg: dict[str, Any], job: Job) -> bool:
    """Is this Slack message the one `job` posted?"""
    if job.kind == OutboxKind.FILE:
        return any(f.get("name") == job.payload.get("filename") for f in msg.get("files") or [])
    meta = msg.get("metadata") or {}
    payload = meta.get("event_payload") or {}
    return (meta.get("event_type") in (CARD_EVENT, POST_EVENT)
            and str(payload.get("outbox_id")) == str(job.id))

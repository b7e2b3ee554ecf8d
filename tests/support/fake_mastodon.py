"""A fake Mastodon instance on 127.0.0.1 (real HTTP) holding the brand account's mention
notifications, for tests that need many of them arriving between polls (the gap kill points).

It serves `GET /api/v1/notifications` as Mastodon does: newest first, `limit` (at most 80),
`since_id` / `max_id` (exclusive bounds), `types[]`, and a `Link` header to the next page.
A notification is the one recorded by Mastodon.py's own suite (tests/data/mastodon) with its
ids, author, text and times replaced. Every request is recorded. `settings()` points
Mastodon.py (`bot.networks.mastodon.client.build_mastodon`) at it.
"""

from __future__ import annotations

import copy
import json
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from bot.config import Settings
from tests.support.fake_server import FakeServer, send_json
from tests.support.paths import DATA

TOKEN = "fake-mastodon-access-token"


def _recorded_mention() -> dict[str, Any]:
    exchanges = json.loads((DATA / "mastodon" / "test_notifications_mentions_only.json")
                           .read_text())
    return next(e["response"]["json"][0] for e in exchanges
                if e["request"]["uri"].endswith("/api/v1/notifications?types%5B%5D=mention"))


def _stamp(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


@dataclass
class Call:
    path: str
    params: dict[str, list[str]]
    status: int


@dataclass
class FakeMastodon(FakeServer):
    notifications: dict[int, dict[str, Any]] = field(default_factory=dict)  # by id
    calls: list[Call] = field(default_factory=list)
    _lock: threading.RLock = field(default_factory=threading.RLock)

    def settings(self) -> Settings:
        return Settings(_env_file=None, MASTODON_API_BASE_URL=self.url,
                        MASTODON_ACCESS_TOKEN=TOKEN)

    def mention(self, nid: int, status_id: str, username: str, text: str, at: float) -> None:
        """A mention of the brand by `username`: notification `nid` for status `status_id`."""
        n = copy.deepcopy(_recorded_mention())
        account = {**n["account"], "id": f"9{nid:08d}", "username": username, "acct": username,
                   "display_name": username.title(), "url": f"{self.url}/@{username}"}
        n.update(id=str(nid), created_at=_stamp(at), group_key=f"ungrouped-{nid}",
                 account=account)
        n["status"].update(id=status_id, created_at=_stamp(at), account=account,
                           content=f"<p>{text}</p>", url=f"{self.url}/@{username}/{status_id}",
                           uri=f"{self.url}/users/{username}/statuses/{status_id}")
        with self._lock:
            self.notifications[nid] = n

    def serve(self, handler: BaseHTTPRequestHandler, method: str) -> None:
        split = urlsplit(handler.path)
        query = parse_qs(split.query)
        if handler.headers.get("Authorization") != f"Bearer {TOKEN}":
            status, answer, headers = 401, {"error": "The access token is invalid"}, {}
        elif (method, split.path) == ("GET", "/api/v1/notifications"):
            status, answer, headers = 200, *self._page(query)
        else:
            status, answer, headers = 404, {"error": "Record not found"}, {}
        with self._lock:
            self.calls.append(Call(split.path, query, status))
        send_json(handler, status, answer, headers=headers)

    def _page(self, query: dict[str, list[str]]) -> tuple[list[Any], dict[str, str]]:
        def bound(name: str, default: int) -> int:
            return int(query.get(name, [str(default)])[0])

        since, below = bound("since_id", 0), bound("max_id", 1 << 62)
        size = min(bound("limit", 40), 80)
        types = set(query.get("types[]", []))
        with self._lock:
            ids = sorted((i for i, n in self.notifications.items() if since < i < below
                          and (not types or n["type"] in types)), reverse=True)
            page = [self.notifications[i] for i in ids[:size]]
        headers = {}
        if len(ids) > size:
            rest = {k: v for k, v in query.items() if k != "max_id"}
            headers["Link"] = (f"<{self.url}/api/v1/notifications?"
                               f"{urlencode({**rest, 'max_id': page[-1]['id']}, doseq=True)}>; "
                               'rel="next"')
        return page, headers

"""What the Threads sources and publisher share: the client, who we are, and the fields.

THREADS_ACCESS_TOKEN is a long-lived Threads user token (60 days; `GET
/refresh_access_token?grant_type=th_refresh_token` renews it while it is valid: an expired one
answers 190 and parks the sources with the fix). THREADS_API_VERSION pins the version
(v1.0), THREADS_API_URL the host (tests: a local fake). Times look like the Graph API's.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime

import httpx

from bot.config import Settings
from bot.networks.graph.client import GraphClient

# `replied_to` and `root_post` appear on replies only: the parent and the thread's first post.
POST_FIELDS = ("id,text,timestamp,username,permalink,media_type,is_reply,replied_to{id},"
               "root_post{id}")
TOKEN = "THREADS_ACCESS_TOKEN"
WWW = "https://www.threads.net"


class ThreadsApi:
    """The Threads client and the account it acts as (`/me`, asked once)."""

    def __init__(self, graph: GraphClient) -> None:
        self.graph = graph
        self._me: tuple[str, str] | None = None
        self._lock = threading.Lock()

    def me(self) -> tuple[str, str]:
        """(user id, username) of the token's account."""
        with self._lock:
            if self._me is None:
                body = self.graph.get("me", fields="id,username")
                self._me = (str(body.get("id") or ""), str(body.get("username") or ""))
            return self._me


def build_threads(settings: Settings, *, http: httpx.Client | None = None,
                  clock: Callable[[], datetime] | None = None) -> ThreadsApi:
    graph = GraphClient(settings.THREADS_API_URL, settings.THREADS_API_VERSION,
                        settings.secret(TOKEN), http=http)
    if clock is not None:
        graph.clock = clock
    return ThreadsApi(graph)

"""What the Facebook source and publisher share: the Page's Graph client and reading Graph's
posts and comments.

A Page access token (META_PAGE_ACCESS_TOKEN) acts as the Page: what it posts is posted by the
Page. Graph's times look like `2026-12-05T20:41:07+0000`. A comment's `from` is missing when
Meta withholds who wrote it (someone who has not allowed apps to see them): the card then
says "A Facebook user" rather than inventing a name.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

import httpx

from bot.config import Settings
from bot.networks.graph.client import GraphClient

POST_FIELDS = "id,message,created_time,updated_time,from,permalink_url,is_hidden"
COMMENT_FIELDS = ("id,message,created_time,from,parent{id},is_hidden,permalink_url,"
                  "attachment{type}")
WWW = "https://www.facebook.com"
NOBODY = "A Facebook user"


def build_graph(settings: Settings, *, http: httpx.Client | None = None,
                clock: Callable[[], datetime] | None = None) -> GraphClient:
    secret = settings.secret("META_APP_SECRET") if settings.is_set("META_APP_SECRET") else None
    return GraphClient(settings.META_GRAPH_API_URL, settings.META_GRAPH_API_VERSION,
                       settings.secret("META_PAGE_ACCESS_TOKEN"), app_secret=secret, http=http,
                       **({"clock": clock} if clock else {}))


def author_of(thing: dict[str, Any]) -> tuple[str, str]:
    """(id, name) of who wrote `thing`; ("", "") when Meta withholds it."""
    who = thing.get("from")
    if not isinstance(who, dict):
        return "", ""
    return str(who.get("id") or ""), str(who.get("name") or "")


def parent_id(comment: dict[str, Any]) -> str | None:
    parent = comment.get("parent")
    return str(parent["id"]) if isinstance(parent, dict) and parent.get("id") else None


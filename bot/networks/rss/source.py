"""RSS and Atom feeds: Google Alerts, news, blogs, Reddit and Mastodon tag feeds.

The HTTP request is ours (`requests`, a timeout, a User-Agent naming socialbot, a conditional GET
with the saved ETag / Last-Modified; the whole request within DEADLINE and, unless the source
says `allow_private: true`, to public addresses only, redirects followed by hand on the same
scheme: `bot.networks.guarded_http`); feedparser only parses the bytes, with the response headers,
so tests serve feeds from a local HTTP server (`allow_private`) and never touch the network. `file://` URLs are
read from disk (Last-Modified from the file's mtime), for running the bot against a local feed.

Normalisation:
- `url`: the entry's link, with Google's redirect (`https://www.google.com/url?…&url=<real>`)
  unwrapped and FeedBurner's proxy link replaced by `feedburner:origLink`.
- `external_id`: the *canonical* form of that link whenever the entry has one of its own (scheme
  and host lower-cased, default port, fragment and tracking parameters such as `utm_*` dropped).
  The entry id is used only when there is no such link, and a hash of title + date when there is
  neither. Reason: an RSS mention *is* the article it links to, and the same article reaches the
  desk through several feeds (two Google Alerts, a Google Alert and the publisher's own feed) whose
  entry ids differ (`tag:google.com,2013:googlealerts/feed:…` is per alert). Keying on the link
  makes `(network="rss", external_id)` dedupe it to one mention. The entry id is kept in
  `extra["entry_id"]`.
- `text`: title + " — " + summary, both reduced to plain text (Google's `<b>` highlighting gone).
- `author`: `name` is the entry's author, else the feed's title; `handle` is the site the link
  points to (`investorplace.com`), so author profiles and `authors:` lists group by publisher
  rather than lumping every Google Alert under one "author". Without a link, the handle is the name.
- Every RSS mention is read-only (`extra["read_only"] = "1"`): a feed gives no channel to reply
  through; the card can link to the article (and to `extra["comments"]` when the feed has one).
- Cursor: the newest entry date seen (ISO 8601, UTC), never later than `now`; dated entries not
  newer are not emitted again. Undated (and future-dated) entries are emitted on every poll that
  sees them; ingest dedupes them by `external_id`.
"""

from __future__ import annotations

import hashlib
import io
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit
from urllib.request import url2pathname

import feedparser
import requests
from requests.structures import CaseInsensitiveDict

from bot import __version__
from bot.domain import waits
from bot.domain.language_tag import primary
from bot.domain.mention import Author, Mention
from bot.domain.redaction import redact
from bot.domain.rules.schema import SourceSpec
from bot.networks.base import (
    Fetch,
    RateLimited,
    Rejected,
    SourceAuthError,
    SourceState,
    SourceUnavailable,
)
from bot.networks.guarded_http import REQUEST_DEADLINE, DeadlinePassed, guard, mount, refusal
from bot.networks.htmltext import html_to_text
from bot.networks.rejects import rejected as reject

USER_AGENT = f"socialbot/{__version__} (RSS/Atom listener)"
TIMEOUT = 20.0  # seconds, connect and read (each; the whole request is DEADLINE)
DEADLINE = REQUEST_DEADLINE  # the whole request, redirects included: a slow loris can't hold a poll
MAX_REDIRECTS = 5
_REDIRECTS = frozenset({301, 302, 303, 307, 308})
# Feeds' own session: the guarded transport (deadline, egress policy) on http and https.
_SESSION = mount(requests.Session())
MAX_BYTES = 10 * 1024 * 1024  # a feed larger than this is cut and parsed as far as it goes
SEPARATOR = " — "

# Query parameters that only track the click; dropping them makes one article one URL.
_TRACKING_PARAMS = frozenset({"fbclid", "gclid", "dclid", "msclkid", "mc_cid", "mc_eid", "igshid",
                              "ocid", "cmpid", "yclid", "_ga", "ref_src", "spm"})
_DEFAULT_PORTS = {"http": 80, "https": 443}


@dataclass(frozen=True, slots=True)
class HttpResult:
    status: int
    headers: Mapping[str, str] = field(default_factory=CaseInsensitiveDict)
    body: bytes = b""
    truncated: bool = False


# (url, request headers) → HttpResult; raises SourceUnavailable / SourceAuthError for failures
# that happen before a status code exists.
FetchUrl = Callable[[str, Mapping[str, str]], HttpResult]


def http_get(url: str, headers: Mapping[str, str], *, timeout: float = TIMEOUT,
             session: requests.Session | None = None, deadline: float = DEADLINE,
             allow_private: bool = False) -> HttpResult:
    """GET with requests (http/https) or read a local file (`file://`), the whole request
    within `deadline` seconds and, unless `allow_private`, to public addresses only
    (`bot.networks.guarded_http`). Redirects are followed by hand, at most MAX_REDIRECTS, each
    hop checked again and never to another scheme."""
    if urlsplit(url).scheme == "file":
        return _read_file(url, headers)
    getter = session or _SESSION
    shown = redact(url)
    try:
        with guard(deadline, public_only=not allow_private):
            for _ in range(MAX_REDIRECTS + 1):
                result = _get_once(getter, url, headers, timeout)
                target = result.headers.get("Location") if result.status in _REDIRECTS else None
                if not target:
                    return result
                following = urljoin(url, target)
                if urlsplit(following).scheme != urlsplit(url).scheme:
                    raise SourceAuthError(f"{shown}: HTTP {result.status} redirects to another "
                                          f"scheme ({redact(following)}): not followed; put the "
                                          "feed's own URL in the rules")
                url = following
            raise SourceAuthError(f"{shown}: more than {MAX_REDIRECTS} redirects: put the "
                                  "feed's own URL in the rules")
    except (requests.Timeout, requests.ConnectionError, DeadlinePassed) as exc:
        refused = refusal(exc)
        if refused:  # the egress policy: only a rules change helps
            raise SourceAuthError(redact(f"{url}: {refused}")) from exc
        raise SourceUnavailable(redact(f"{url}: {type(exc).__name__}: {exc}")) from exc
    except requests.RequestException as exc:  # invalid URL, bad scheme, broken stream…
        raise SourceAuthError(redact(f"{url}: cannot be fetched: {exc}")) from exc


def _get_once(getter: requests.Session | Any, url: str, headers: Mapping[str, str],
              timeout: float) -> HttpResult:
    with getter.get(url, headers=dict(headers), timeout=timeout, stream=True,
                    allow_redirects=False) as resp:
        body, truncated = bytearray(), False
        if resp.status_code == 200:
            for chunk in resp.iter_content(chunk_size=65536):
                body.extend(chunk)
                if len(body) > MAX_BYTES:
                    del body[MAX_BYTES:]
                    truncated = True
                    break
        return HttpResult(resp.status_code, CaseInsensitiveDict(resp.headers), bytes(body),
                          truncated)


def _read_file(url: str, headers: Mapping[str, str]) -> HttpResult:
    path = Path(url2pathname(urlsplit(url).path))
    try:
        mtime = datetime.fromtimestamp(os.stat(path).st_mtime, UTC).replace(microsecond=0)
        last_modified = format_datetime(mtime, usegmt=True)
        if CaseInsensitiveDict(headers).get("If-Modified-Since") == last_modified:
            return HttpResult(304, CaseInsensitiveDict({"Last-Modified": last_modified}))
        with path.open("rb") as fh:
            body = fh.read(MAX_BYTES + 1)
    except FileNotFoundError:
        return HttpResult(404)
    except OSError as exc:
        raise SourceUnavailable(f"{path}: {exc}") from exc
    return HttpResult(200, CaseInsensitiveDict({"Last-Modified": last_modified}),
                      body[:MAX_BYTES], len(body) > MAX_BYTES)


def unwrap_link(url: str) -> str:
    """The real target of a Google redirect link (`google.*/url?…&url=<real>` or `q=<real>`);
    any other URL unchanged."""
    parts = urlsplit(url.strip())
    host = (parts.hostname or "").lower()
    is_google = host.startswith(("google.", "www.google.")) or host == "news.google.com"
    if is_google and parts.path == "/url":
        params = dict(parse_qsl(parts.query, keep_blank_values=True))
        for key in ("url", "q"):
            target = params.get(key, "")
            if urlsplit(target).scheme in ("http", "https"):
                return target
    return url.strip()


def canonical_url(url: str) -> str:
    """One spelling per article: Google redirect unwrapped, scheme/host lower-cased, default port,
    fragment and tracking parameters (utm_*, fbclid, …) dropped, empty path as "/"."""
    parts = urlsplit(unwrap_link(url))
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    if parts.port and parts.port != _DEFAULT_PORTS.get(scheme):
        host = f"{host}:{parts.port}"
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True)
             if not k.lower().startswith("utm_") and k.lower() not in _TRACKING_PARAMS]
    return urlunsplit((scheme, host, parts.path or "/", urlencode(query, doseq=True), ""))


def _site(url: str) -> str:
    host = (urlsplit(url).hostname or "").lower()
    return host.removeprefix("www.")


def _when(entry: Mapping) -> datetime | None:
    for key in ("published_parsed", "updated_parsed", "created_parsed"):
        t = entry.get(key)
        if t:
            try:
                return datetime(*t[:6]).replace(tzinfo=UTC)  # feedparser gives UTC struct_time
            except (TypeError, ValueError):
                continue
    return None


def _parse_cursor(cursor: str | None) -> datetime | None:
    if not cursor:
        return None
    try:
        when = datetime.fromisoformat(cursor)
    except ValueError:
        return None  # a cursor we did not write: start over, ingest dedupes
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def _retry_at(value: str | None, now: datetime, fallback: timedelta) -> datetime:
    return waits.retry_after(value, now=now, default=fallback, what="feed")


def _lang(code: str | None) -> str | None:
    # The language subtag only, BCP 47 or nothing: `<language>English (United States)`
    # → en; a value that names no language is dropped (the detector decides).
    return primary(code)


class RssSource:
    """`type: rss` — one feed URL (`spec.url`)."""

    def __init__(self, spec: SourceSpec, *, fetch_url: FetchUrl | None = None,
                 session: requests.Session | None = None, timeout: float = TIMEOUT,
                 deadline: float = DEADLINE) -> None:
        if not spec.url:
            raise ValueError(f"source {spec.id}: an rss source needs a url")
        self.spec = spec
        self._fetch_url: FetchUrl = fetch_url or (
            lambda url, headers: http_get(url, headers, timeout=timeout, session=session,
                                          deadline=deadline, allow_private=spec.allow_private))

    def fetch(self, state: SourceState, *, now: datetime) -> Fetch:
        url = self.spec.url or ""
        headers = {"User-Agent": USER_AGENT,
                   "Accept": "application/atom+xml, application/rss+xml, application/xml;q=0.9, "
                             "text/xml;q=0.8, */*;q=0.1"}
        if state.etag:
            headers["If-None-Match"] = state.etag
        if state.last_modified:
            headers["If-Modified-Since"] = state.last_modified
        result = self._fetch_url(url, headers)
        self._raise_for_status(result, now)
        if result.status == 304:
            return Fetch(mentions=[], state=state, not_modified=True)

        new_state = SourceState(cursor=state.cursor,
                                etag=result.headers.get("ETag") or None,
                                last_modified=result.headers.get("Last-Modified") or None)
        notes: list[str] = []
        if result.truncated:
            notes.append(f"feed larger than {MAX_BYTES // (1024 * 1024)} MB: parsed the first part")
        parsed = feedparser.parse(io.BytesIO(result.body), response_headers=_lower(result.headers,
                                                                                   url))
        entries = parsed.get("entries") or []
        exc = parsed.get("bozo_exception") if parsed.get("bozo") else None
        problem = f": {type(exc).__name__}: {exc}" if exc else ""
        if not entries and not parsed.get("version"):
            notes.append(f"not a feed (empty or unparseable document), nothing read{problem}")
            return Fetch(mentions=[], state=new_state, notes=notes)
        if exc:
            notes.append(f"feed is not well-formed, parsed leniently{problem}")

        since = _parse_cursor(state.cursor)
        newest = since
        feed = parsed.get("feed") or {}
        mentions: list[Mention] = []
        rejected: list[Rejected] = []
        skipped_empty = 0
        for entry in entries:
            created = _when(entry)
            if since and created and created <= since:
                continue
            try:
                mention = self._normalise(entry, feed, created)
            except Exception as exc:  # one unreadable entry must not fail the feed
                rejected.append(reject("rss", dict(entry), exc, entry.get("id") or
                                       entry.get("link")))
                continue
            if mention is None:
                skipped_empty += 1
                continue
            mentions.append(mention)
            # A wrongly future-dated entry must not push the cursor past today's entries.
            seen_at = min(created, now) if created else None
            if seen_at and (newest is None or seen_at > newest):
                newest = seen_at
        if skipped_empty:
            notes.append(f"{skipped_empty} entries without title, summary or link skipped")
        mentions.sort(key=lambda m: m.created_at or datetime.max.replace(tzinfo=UTC))
        if newest is not None:
            new_state = SourceState(cursor=newest.isoformat(), etag=new_state.etag,
                                    last_modified=new_state.last_modified)
        return Fetch(mentions=mentions, state=new_state, reads=len(entries), notes=notes,
                     rejected=rejected)

    def _raise_for_status(self, result: HttpResult, now: datetime) -> None:
        status, url = result.status, redact(self.spec.url or "")  # errors are shown to people
        if status in (200, 304):
            return
        if status in (401, 403):
            raise SourceAuthError(f"{url}: HTTP {status}: access refused")
        if status in (404, 410):
            raise SourceAuthError(f"{url}: HTTP {status}: feed not found")
        if status == 429:
            fallback = max(self.spec.every, timedelta(minutes=1))
            raise RateLimited(_retry_at(result.headers.get("Retry-After"), now, fallback),
                              f"{url}: HTTP 429")
        if status >= 500 or status == 408:
            raise SourceUnavailable(f"{url}: HTTP {status}")
        if 400 <= status < 500:
            raise SourceAuthError(f"{url}: HTTP {status}: the feed refuses this request")
        raise SourceUnavailable(f"{url}: unexpected HTTP {status}")

    def _normalise(self, entry: Mapping, feed: Mapping, created: datetime | None
                   ) -> Mention | None:
        title = html_to_text(entry.get("title"), keep_lines=False)
        summary = html_to_text(entry.get("summary"))
        link = entry.get("feedburner_origlink") or entry.get("link") or ""
        link = unwrap_link(link) if link else ""
        if not (title or summary or link):
            return None
        # A link equal to the feed's home page does not identify the entry.
        own_link = bool(link) and canonical_url(link) != canonical_url(feed.get("link") or "")
        entry_id = (entry.get("id") or "").strip()
        if own_link:
            external_id = canonical_url(link)
        elif entry_id:
            external_id = entry_id
        else:
            stamp = created.isoformat() if created else (entry.get("published") or
                                                         entry.get("updated") or "")
            digest = hashlib.sha256(f"{title}\n{stamp}".encode()).hexdigest()[:32]
            external_id = f"sha256:{digest}"

        feed_title = html_to_text(feed.get("title"), keep_lines=False)
        name = html_to_text(entry.get("author"), keep_lines=False) or feed_title or _site(self.spec.url or "")
        handle = _site(link) if link else ""
        text = SEPARATOR.join(part for part in (title, summary) if part) or link
        extra = {"read_only": "1"}
        if entry_id:
            extra["entry_id"] = entry_id
        if feed_title:
            extra["feed_title"] = feed_title
        if entry.get("comments"):
            extra["comments"] = str(entry.get("comments"))
        return Mention(
            network="rss",
            external_id=external_id,
            text=text,
            author=Author(handle=handle or name or self.spec.id, name=name),
            url=link or None,
            created_at=created,
            lang=_lang(entry.get("language") or feed.get("language")),
            source_id=self.spec.id,
            extra=extra,
        )


def _lower(headers: Mapping[str, str], url: str) -> dict[str, str]:
    out = {k.lower(): v for k, v in headers.items()}
    out.setdefault("content-location", url)  # base for relative links in the feed
    return out

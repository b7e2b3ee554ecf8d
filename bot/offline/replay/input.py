"""The input side of `socialbot replay`: which format a file is in, and the readers that turn
it into `Mention`s one record at a time (generators: nothing is collected).

Accepted inputs (detected from the extension and the first bytes):

* JSON Lines, each line one of
  - an X API v2 response page `{"data": [...], "includes": {"users": [...]}, "meta": ...}`
    (a bare v2 tweet object, or a recorded exchange wrapping a page, also works);
  - a normalised mention `{"id", "network", "author": {"username", "name", "followers"},
    "text", "url", "created_at", "lang"}`;
* a whole-file `.json` holding such a page anywhere inside it (e.g. tweepy's recorded
  exchanges `[{"request": ..., "response": {"json": {page}}}]`) or a list of normalised mentions;
* CSV with a `text` column; `id`/`tweet_id`, `username`/`screen_name`/`author_id`, `name`,
  `followers`, `created_at` (ISO 8601, Twitter v1.1 `Wed Oct 11 06:55:44 +0000 2017`,
  `M/D/YYYY H:MM`, epoch seconds), `lang`, `network`, `url` are used when present.

A record that cannot become a mention is yielded as `Skipped(line, problem)`; a file that
cannot be read at all raises `ReplayInputError`.
"""

from __future__ import annotations

import csv
import functools
import itertools
import json
import operator
import os
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from typing import Any, NamedTuple

from bot.domain.mention import NETWORKS, Author, Mention
from bot.domain.rules.schema import Rules

__all__ = ["Item", "ReplayInputError", "Skipped", "detect_format", "parse_time",
           "read_mentions"]

_SAMPLE_BYTES = 64 * 1024
_BOM = b"\xef\xbb\xbf"


class ReplayInputError(Exception):
    """The file as a whole cannot be replayed; `line` is 0 when the problem is the file itself."""

    def __init__(self, line: int, message: str):
        self.line = line
        self.message = message
        super().__init__(f"{line}: {message}")

    @classmethod
    def cannot_read(cls, exc: OSError) -> ReplayInputError:
        """The file could not be opened or read (line 0: the file itself)."""
        return cls(0, f"cannot read: {exc.strerror or exc}")


@dataclass(frozen=True, slots=True)
class Skipped:
    """One input line (or one tweet of a page) that could not be turned into a mention."""

    line: int
    problem: str


Item = tuple[int, Mention] | Skipped


class _Bad(ValueError):
    """A problem with one record; becomes a `Skipped`."""


# --------------------------------------------------------------------------- detection


def detect_format(path: str | os.PathLike[str]) -> str:
    """"jsonl", "json" (one whole JSON document) or "csv"; `ReplayInputError` when unreadable."""
    p = os.fspath(path)
    try:
        with open(p, "rb") as f:
            sample = f.read(_SAMPLE_BYTES)
            truncated = bool(f.read(1))
    except FileNotFoundError:
        raise ReplayInputError(0, "no such file") from None
    except IsADirectoryError:
        raise ReplayInputError(0, "is a directory, not a file") from None
    except OSError as exc:
        raise ReplayInputError.cannot_read(exc) from None
    sample = sample.removeprefix(_BOM)
    if not sample.strip() and not truncated:
        raise ReplayInputError(1, "the file is empty: no mentions to replay")
    ext = os.path.splitext(p)[1].lower()
    if ext in (".csv", ".tsv"):
        return "csv"
    if ext in (".jsonl", ".ndjson"):
        return "jsonl"
    first = sample.lstrip()[:1]
    if first in (b"{", b"["):
        lines = sample.splitlines()
        if truncated and lines:
            lines = lines[:-1]  # the last one may be cut
        # JSON Lines when the first line is a JSON value on its own (or, if that one is
        # broken, two of the next four are); a pretty-printed document's lines are not.
        parsed = [_parses(ln) for ln in [ln for ln in lines if ln.strip()][:5]]
        if parsed and (parsed[0] or sum(parsed) >= 2):
            return "jsonl"
        return "json"
    return "csv"


def _parses(line: bytes) -> bool:
    try:
        return isinstance(json.loads(line), dict | list)
    except ValueError:  # JSONDecodeError and UnicodeDecodeError
        return False


def read_mentions(path: str | os.PathLike[str], rules: Rules,
                  kind: str | None = None) -> Iterator[Item]:
    """Yield `(line, Mention)` or `Skipped(line, problem)` for every record, one at a time.

    Raises `ReplayInputError` (possibly on the first `next()`) when the file as a whole
    cannot be read.
    """
    kind = kind or detect_format(path)
    brand = _Brand(rules)
    if kind == "csv":
        return _csv_mentions(os.fspath(path), brand)
    if kind == "jsonl":
        return _jsonl_mentions(os.fspath(path), brand)
    return _json_file_mentions(os.fspath(path), brand)


# --------------------------------------------------------------------------- the brand


class _Brand:
    """Recognises the brand's own account(s) in text, per network."""

    def __init__(self, rules: Rules):
        b = rules.brand
        self.x_username = (b.x_username or "").lower()
        patterns: dict[str, str] = {}
        if b.x_username:  # @NorthwindAir, not @NorthwindAirFan nor me@NorthwindAir
            patterns["x"] = re.escape(b.x_username) + r"(?!\w)"
        if b.mastodon_acct:  # @northwind or @northwind@mastodon.social, not @northwind@other.host
            user, _, host = b.mastodon_acct.lstrip("@").partition("@")
            patterns["mastodon"] = (re.escape(user) + (f"(?:@{re.escape(host)})?" if host else "")
                                    + r"(?![\w@]|\.\w)")
        if b.bluesky_handle:  # a domain: @northwindair.bsky.social, not ….bsky.social.evil
            patterns["bluesky"] = re.escape(b.bluesky_handle.lstrip("@")) + r"(?![\w-]|\.\w)"
        # Not after a word character or an "@". The look-behind sits after the "@" (it looks
        # at the "@" and the character before it) so that the pattern starts with a literal
        # and the search jumps from "@" to "@" instead of trying the look-behind at every
        # position: ten times faster on a tweet, same matches.
        self._patterns = {net: re.compile(r"@(?<![\w@]@)" + rx, re.IGNORECASE)
                          for net, rx in patterns.items()}

    def mentioned_in(self, network: str, text: str) -> bool:
        pattern = self._patterns.get(network)
        return bool(pattern and pattern.search(text))


# --------------------------------------------------------------------------- values


_MONTHS = {m: i for i, m in enumerate(
    ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"), 1)}
# Twitter v1.1 "Wed Oct 11 06:55:44 +0000 2017" (English names whatever the locale)
_V11 = re.compile(r"(?:[A-Za-z]{3},? )?([A-Za-z]{3}) +(\d{1,2}) (\d{1,2}):(\d{2}):(\d{2}) "
                  r"([+-])(\d{2}):?(\d{2}) (\d{4})")
# US spreadsheet style "2/24/2015 11:35" (seconds optional), taken as UTC
_US = re.compile(r"(\d{1,2})/(\d{1,2})/(\d{4})(?:[ T](\d{1,2}):(\d{2})(?::(\d{2}))?)?")
_DATE_HELP = "use ISO 8601, 'Wed Oct 11 06:55:44 +0000 2017' or M/D/YYYY H:MM"


def parse_time(value: Any) -> datetime | None:
    """A timezone-aware UTC datetime from the formats the inputs use; None when empty."""
    if value is None or value == "":
        return None
    if isinstance(value, str):
        return _parse_time_str(value.strip())
    if isinstance(value, int | float) and not isinstance(value, bool):
        return _from_epoch(value)
    raise _Bad(f"created_at: {value!r} is not a date")


@functools.lru_cache(maxsize=4096)  # exports repeat timestamps; bounded, so still streaming
def _parse_time_str(s: str) -> datetime | None:
    if not s:
        return None
    if "/" in s and (m := _US.fullmatch(s)):
        # Never ISO 8601 (that starts with a 4-digit year), so fromisoformat is not tried
        # first: spreadsheet exports (the airline tweets) are all in this format, and raising
        # and catching its ValueError on every row took longer than parsing the date.
        return _us_time(m, s)
    dt: datetime | None = None
    try:
        dt = datetime.fromisoformat(s)
    except ValueError:
        if m := _V11.fullmatch(s):
            month = _MONTHS.get(m[1].lower())
            if month:
                offset = (int(m[7]) * 60 + int(m[8])) * (-1 if m[6] == "-" else 1)
                try:
                    dt = datetime(int(m[9]), month, int(m[2]), int(m[3]), int(m[4]), int(m[5]),
                                  tzinfo=timezone(timedelta(minutes=offset)))
                except ValueError:
                    dt = None
        elif s.isdigit():
            return _from_epoch(int(s))
    if dt is None:
        raise _Bad(_not_a_date(s))
    return dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt.astimezone(UTC)


def _us_time(m: re.Match[str], s: str) -> datetime:
    """A `_US` match as a UTC datetime."""
    try:
        return datetime(int(m[3]), int(m[1]), int(m[2]), int(m[4] or 0), int(m[5] or 0),
                        int(m[6] or 0), tzinfo=UTC)
    except ValueError:  # 2/30/2015
        raise _Bad(_not_a_date(s)) from None


def _not_a_date(s: str) -> str:
    return f"created_at: {s[:40]!r} is not a date ({_DATE_HELP})"


def _from_epoch(value: float) -> datetime:
    try:
        return datetime.fromtimestamp(value, tz=UTC)
    except (OverflowError, OSError, ValueError):
        raise _Bad(f"created_at: {value!r} is not a date ({_DATE_HELP})") from None


def _str_id(value: Any, key: str = "id") -> str:
    if isinstance(value, bool) or value is None:
        raise _Bad(f"{key}: required")
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str) and value.strip():
        return value.strip()
    raise _Bad(f"{key}: expected a string or a number, got {_kind(value)}")


def _text(value: Any) -> str:
    if value is None:
        raise _Bad("text: required")
    if not isinstance(value, str):
        raise _Bad(f"text: expected a string, got {_kind(value)}")
    if not value.strip():
        raise _Bad("text: empty")
    return value


def _count(value: Any, key: str) -> int:
    if value is None or value == "":
        return 0
    if isinstance(value, bool):
        raise _Bad(f"{key}: expected a whole number, got {value!r}")
    if isinstance(value, int):
        n = value
    elif isinstance(value, float) and value.is_integer():
        n = int(value)
    elif isinstance(value, str):
        try:
            n = int(float(value.strip().replace(",", "").replace("_", "")))
        except ValueError:
            raise _Bad(f"{key}: {value[:20]!r} is not a whole number") from None
    else:
        raise _Bad(f"{key}: expected a whole number, got {_kind(value)}")
    if n < 0:
        raise _Bad(f"{key}: {n} is negative")
    return n


def _opt_str(value: Any, key: str) -> str | None:
    if value is None or value == "":
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    raise _Bad(f"{key}: expected a string, got {_kind(value)}")


def _kind(value: Any) -> str:
    return {dict: "an object", list: "a list", str: "a string", bool: "true/false",
            type(None): "null"}.get(type(value), "a number")


def _x_url(username: str, tweet_id: str) -> str:
    return f"https://x.com/{username or 'i'}/status/{tweet_id}"


# --------------------------------------------------------------------------- X API v2 pages


def _is_page(obj: dict) -> bool:
    meta = obj.get("meta")
    return ("data" in obj or "includes" in obj
            or (isinstance(meta, dict) and "result_count" in meta)
            or ("errors" in obj and "text" not in obj))


def _has_tweets(page: dict) -> bool:
    data = page.get("data")
    if isinstance(data, dict):
        return "text" in data
    return isinstance(data, list) and any(isinstance(t, dict) and "text" in t for t in data)


def _page_mentions(page: dict, line: int, brand: _Brand, where: str = "") -> Iterator[Item]:
    data = page.get("data")
    if data is None:
        errors = page.get("errors")
        if errors and isinstance(errors, list):
            e = errors[0] if isinstance(errors[0], dict) else {}
            detail = e.get("detail") or e.get("title") or e.get("message") or "error"
            yield Skipped(line, f"{where}X API error page without data: {str(detail)[:120]}")
        return  # an empty page (meta.result_count 0) has no data: nothing to replay
    if isinstance(data, dict):
        data = [data]
    if not isinstance(data, list):
        yield Skipped(line, f"{where}data: expected a list of tweets, got {_kind(data)}")
        return
    includes = page.get("includes")
    users: dict[str, dict] = {}
    if isinstance(includes, dict) and isinstance(includes.get("users"), list):
        for u in includes["users"]:
            if isinstance(u, dict) and u.get("id") is not None:
                users[str(u["id"])] = u
    brand_ids = {uid for uid, u in users.items()
                 if str(u.get("username", "")).lower() == brand.x_username and brand.x_username}
    for i, tweet in enumerate(data):
        try:
            yield line, _tweet_mention(tweet, users, brand, brand_ids)
        except _Bad as exc:
            yield Skipped(line, f"{where}data[{i}]: {exc}")


def _tweet_mention(tweet: Any, users: dict[str, dict], brand: _Brand,
                   brand_ids: set[str]) -> Mention:
    if not isinstance(tweet, dict):
        raise _Bad(f"expected a tweet object, got {_kind(tweet)}")
    tweet_id = _str_id(tweet.get("id"))
    text = _text(tweet.get("text"))
    author_id = tweet.get("author_id")
    author_id = str(author_id) if author_id is not None else None
    user = users.get(author_id, {}) if author_id else {}
    username = str(user.get("username") or "")
    metrics = user.get("public_metrics")
    followers = _count(metrics.get("followers_count") if isinstance(metrics, dict) else None,
                       "public_metrics.followers_count")
    mentions_brand = brand.mentioned_in("x", text)
    entities = tweet.get("entities")
    if not mentions_brand and isinstance(entities, dict) and brand.x_username:
        for m in entities.get("mentions") or ():
            if isinstance(m, dict) and (str(m.get("username", "")).lower() == brand.x_username
                                        or str(m.get("id", "")) in brand_ids):
                mentions_brand = True
                break
    reply_to_user = tweet.get("in_reply_to_user_id")
    if not mentions_brand and reply_to_user is not None and str(reply_to_user) in brand_ids:
        mentions_brand = True
    in_reply_to_id = None
    for ref in tweet.get("referenced_tweets") or ():
        if isinstance(ref, dict) and ref.get("type") == "replied_to" and ref.get("id"):
            in_reply_to_id = str(ref["id"])
    conversation_id = tweet.get("conversation_id")
    return Mention(
        network="x",
        external_id=tweet_id,
        text=text,
        author=Author(handle=username, name=str(user.get("name") or ""), followers=followers,
                      external_id=author_id, verified=bool(user.get("verified", False))),
        url=_x_url(username, tweet_id),
        created_at=parse_time(tweet.get("created_at")),
        lang=_opt_str(tweet.get("lang"), "lang"),
        mentions_brand=mentions_brand,
        in_reply_to_id=in_reply_to_id,
        conversation_id=str(conversation_id) if conversation_id is not None else None,
    )


# --------------------------------------------------------------------------- normalised


def _normalised_mention(obj: dict, brand: _Brand) -> Mention:
    mention_id = _str_id(obj.get("id"))
    text = _text(obj.get("text"))
    network = obj.get("network") or "x"
    if network not in NETWORKS:
        raise _Bad(f"network: {str(network)[:20]!r} is not one of {', '.join(NETWORKS)}")
    author = obj.get("author")
    if not isinstance(author, dict):
        raise _Bad("author: expected an object {username, name, followers}")
    username = author.get("username", author.get("handle"))
    if not isinstance(username, str) or not username.strip():
        raise _Bad("author.username: required")
    username = username.strip().lstrip("@")
    name = _opt_str(author.get("name"), "author.name") or ""
    followers = _count(author.get("followers"), "author.followers")
    url = _opt_str(obj.get("url"), "url")
    if url is None and network == "x":
        url = _x_url(username, mention_id)
    mentions_brand = obj.get("mentions_brand")
    if not isinstance(mentions_brand, bool):
        mentions_brand = brand.mentioned_in(network, text)
    return Mention(
        network=network,
        external_id=mention_id,
        text=text,
        author=Author(handle=username, name=name, followers=followers,
                      external_id=_opt_str(author.get("id"), "author.id"),
                      verified=author.get("verified") is True),
        url=url,
        created_at=parse_time(obj.get("created_at")),
        lang=_opt_str(obj.get("lang"), "lang"),
        source_id=_opt_str(obj.get("source_id", obj.get("source")), "source_id"),
        mentions_brand=mentions_brand,
        in_reply_to_id=_opt_str(obj.get("in_reply_to_id"), "in_reply_to_id"),
        conversation_id=_opt_str(obj.get("conversation_id"), "conversation_id"),
    )


def _is_normalised(obj: dict) -> bool:
    return "text" in obj and isinstance(obj.get("author"), dict)


def _is_bare_tweet(obj: dict) -> bool:
    return "text" in obj and ("author_id" in obj or "edit_history_tweet_ids" in obj)


def _find_records(obj: Any, path: str = "") -> Iterator[tuple[str, str, dict]]:
    """Pages with tweets and normalised mentions anywhere inside a JSON value, in order."""
    if isinstance(obj, dict):
        if _is_normalised(obj):
            yield "mention", path, obj
            return
        if _has_tweets(obj):
            yield "page", path, obj
            return
        for key, value in obj.items():
            if isinstance(value, dict | list):
                yield from _find_records(value, f"{path}.{key}" if path else key)
    elif isinstance(obj, list):
        for i, value in enumerate(obj):
            if isinstance(value, dict | list):
                yield from _find_records(value, f"{path}[{i}]")


_NOT_A_RECORD = ("not an X API v2 page {\"data\": [...], \"includes\": {...}} nor a normalised "
                 "mention {\"id\", \"network\", \"author\", \"text\", ...}")


def _object_mentions(obj: Any, line: int, brand: _Brand) -> Iterator[Item]:
    """The mentions in one JSON Lines record."""
    if isinstance(obj, dict):
        if _is_normalised(obj):
            yield _normalised_item(obj, line, brand)
            return
        if _is_bare_tweet(obj):
            yield from _page_mentions({"data": [obj]}, line, brand)
            return
        if _is_page(obj):
            yield from _page_mentions(obj, line, brand)
            return
        if "text" in obj:
            yield Skipped(line, "author: expected an object {username, name, followers}")
            return
    records = _find_records(obj)
    first = next(records, None)
    if first is None:
        yield Skipped(line, _NOT_A_RECORD)
        return
    yield from _records_mentions(itertools.chain((first,), records), line, brand)


def _records_mentions(records: Iterable[tuple[str, str, dict]], line: int,
                      brand: _Brand) -> Iterator[Item]:
    """The mentions in `_find_records`' finds; a problem names where in the document it is."""
    for kind, path, record in records:
        where = f"{path}: " if path else ""
        if kind == "page":
            yield from _page_mentions(record, line, brand, where)
        else:
            yield _normalised_item(record, line, brand, where)


def _normalised_item(obj: dict, line: int, brand: _Brand, where: str = "") -> Item:
    try:
        return line, _normalised_mention(obj, brand)
    except _Bad as exc:
        return Skipped(line, f"{where}{exc}")


# --------------------------------------------------------------------------- readers


def _jsonl_mentions(path: str, brand: _Brand) -> Iterator[Item]:
    try:
        f = open(path, "rb")  # noqa: SIM115 - closed below; a generator owns it
    except OSError as exc:
        raise ReplayInputError.cannot_read(exc) from None
    with f:
        for line_no, raw in enumerate(f, start=1):
            if line_no == 1:
                raw = raw.removeprefix(_BOM)
            if not raw.strip():
                continue
            try:
                obj = json.loads(raw)
            except UnicodeDecodeError as exc:
                yield Skipped(line_no, f"not UTF-8 text: {exc.reason}")
                continue
            except json.JSONDecodeError as exc:
                yield Skipped(line_no, f"invalid JSON: {exc.msg} (column {exc.colno})")
                continue
            yield from _object_mentions(obj, line_no, brand)


def _json_file_mentions(path: str, brand: _Brand) -> Iterator[Item]:
    try:
        with open(path, "rb") as f:
            raw = f.read()
    except OSError as exc:
        raise ReplayInputError.cannot_read(exc) from None
    try:
        obj = json.loads(raw.removeprefix(_BOM))
    except UnicodeDecodeError as exc:
        raise ReplayInputError(1, f"not UTF-8 text: {exc.reason}") from None
    except json.JSONDecodeError as exc:
        raise ReplayInputError(exc.lineno, f"invalid JSON: {exc.msg} (column {exc.colno})") \
            from None
    if isinstance(obj, dict) and (_is_page(obj) or _is_bare_tweet(obj)) and not _has_tweets(obj):
        yield from _object_mentions(obj, 1, brand)  # an empty or error page: say why
        return
    records = _find_records(obj)
    first = next(records, None)
    if first is None:
        raise ReplayInputError(1, "no tweets found: expected an X API v2 page {\"data\": [...], "
                                  "\"includes\": {...}} (possibly inside recorded responses) or "
                                  "normalised mentions")
    yield from _records_mentions(itertools.chain((first,), records), 1, brand)


_CSV_COLUMNS = {  # our name → accepted header names (lower case), first present wins
    "id": ("id", "tweet_id", "status_id", "external_id"),
    "username": ("username", "screen_name", "user", "handle", "user_screen_name"),
    "author_id": ("author_id", "user_id"),
    "name": ("name", "author_name", "user_name"),
    "followers": ("followers", "followers_count", "user_followers_count"),
    "created_at": ("created_at", "tweet_created", "date", "timestamp"),
    "lang": ("lang", "language"),
    "network": ("network",),
    "url": ("url", "permalink"),
    "source_id": ("source_id", "source"),
}


class _CsvCells(NamedTuple):
    """One row's cells for our fields, stripped; "" where the file has no such column."""

    id: str
    username: str
    author_id: str
    name: str
    followers: str
    created_at: str
    lang: str
    network: str
    url: str
    source_id: str


assert _CsvCells._fields == tuple(_CSV_COLUMNS), "_CsvCells follows _CSV_COLUMNS"


class _CsvLayout:
    """Where our fields are in a file's rows, worked out once from its header: each row is then
    read with one `itemgetter` call rather than a lookup per field."""

    def __init__(self, names: list[str]):
        self.width = len(names)
        self.text_at = names.index("text")
        # A field the header lacks reads the cell just past the header's width, which `cells`
        # makes an empty one.
        self._get = operator.itemgetter(*(
            next((names.index(n) for n in aliases if n in names), self.width)
            for aliases in _CSV_COLUMNS.values()))
        self._pad = [""] * (self.width + 1)

    def cells(self, row: list[str]) -> _CsvCells:
        """`row`'s cells by field. Changes `row`: cells past the header's width are dropped (no
        field reads them), a short row is padded with empty cells."""
        del row[self.width:]
        row.extend(self._pad[len(row):])
        return _CsvCells._make(map(str.strip, self._get(row)))


def _csv_mentions(path: str, brand: _Brand) -> Iterator[Item]:
    try:
        f = open(path, encoding="utf-8-sig", errors="replace", newline="")  # noqa: SIM115
    except OSError as exc:
        raise ReplayInputError.cannot_read(exc) from None
    with f:
        head = f.readline()
        delimiter = "\t" if (path.lower().endswith(".tsv")
                             or ("\t" in head and "," not in head)) else ","
        f.seek(0)
        raw: list[str] = []  # the physical lines of the row being read

        def lines() -> Iterator[str]:
            for line in f:
                raw.append(line)
                yield line

        reader = csv.reader(lines(), delimiter=delimiter)
        layout = _csv_layout(reader)
        text_at = layout.text_at
        end = reader.line_num
        while True:
            start = end + 1
            raw.clear()
            try:
                row = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                if reader.line_num < start:  # no progress: give up rather than loop
                    raise ReplayInputError(start, f"not CSV: {exc}") from None
                end = reader.line_num
                yield Skipped(start, f"not CSV: {exc}")
                continue
            end = reader.line_num
            if end > start and "".join(raw).count('"') % 2:
                # A quote that never closes: the csv module reads on to the end of the file
                # and makes one field of everything after it.
                yield Skipped(start, f"a quote opened on this line is never closed, so lines "
                                     f"{start}–{end} read as one field; close the quote")
                continue
            if not any(map(str.strip, row)):  # a blank line, or only empty cells
                continue
            if len(row) <= text_at:
                yield Skipped(start, f"{len(row)} fields, the header has {layout.width}: no text")
                continue
            try:
                yield start, _csv_mention(row[text_at], layout.cells(row), start, brand)
            except _Bad as exc:
                yield Skipped(start, str(exc))


def _csv_layout(reader: Iterator[list[str]]) -> _CsvLayout:
    """The columns the header line names; `ReplayInputError` when it names no `text`."""
    try:
        header = next(reader, None)
    except csv.Error as exc:
        raise ReplayInputError(1, f"not CSV: {exc}") from None
    if not header:
        raise ReplayInputError(1, "the file is empty: no mentions to replay")
    names = [h.strip().lower() for h in header]
    if "text" not in names:
        shown = ", ".join(h[:20] for h in names[:8]) + (", …" if len(names) > 8 else "")
        raise ReplayInputError(
            1, "not JSON Lines, JSON, or CSV with a `text` column "
               f"(first line has: {shown[:200]})")
    return _CsvLayout(names)


def _csv_mention(text: str, c: _CsvCells, line: int, brand: _Brand) -> Mention:
    text = _text(text)
    network = c.network.lower() or "x"
    if network not in NETWORKS:
        raise _Bad(f"network: {network[:20]!r} is not one of {', '.join(NETWORKS)}")
    mention_id = c.id or str(line)  # no id column: the row's line number
    author_id = c.author_id or None
    username = c.username.lstrip("@") or (author_id or "")
    url = c.url or (_x_url(username, mention_id) if network == "x" and c.id else None)
    return Mention(
        network=network,
        external_id=mention_id,
        text=text,
        author=Author(handle=username, name=c.name, followers=_count(c.followers, "followers"),
                      external_id=author_id),
        url=url,
        created_at=parse_time(c.created_at),
        lang=c.lang or None,
        source_id=c.source_id or None,
        mentions_brand=brand.mentioned_in(network, text),
    )

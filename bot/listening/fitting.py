"""Values fitted to their columns before a mention is stored.

A network's answer is not trusted to fit the schema: one long handle, a follower count past
int4 or a feed's `<language>English (United States)</language>` used to fail the whole poll's
transaction on PostgreSQL (and again at every poll: the cursor never moved). Fitting is
documented behaviour, not an accident of the database:

- `author.handle`: at most HANDLE_MAX (255) characters, cut at the end;
- `author.followers`: clamped to 0 … FOLLOWERS_MAX (2^31 − 1, the int4 column);
- `mention.lang`: a BCP 47 tag (`bot.domain.language_tag`: `en_US` → `en-US`, `English
  (United States)` → `en`), or dropped (None: the detector decides) when it is not one;
- `mention.external_id`: an id longer than EXTERNAL_ID_MAX (1,000) characters is replaced by
  `sha256:` + its hash (an index entry has a size limit; the same post still dedupes);
- `source_id` is the rules' id (64) and `network` ours, so both fit already.

Whatever still cannot be stored is quarantined (bot.listening.quarantine), not retried for
ever.
"""

from __future__ import annotations

import dataclasses
import hashlib

from bot.domain.conversation import handle_key
from bot.domain.language_tag import bcp47
from bot.domain.mention import Mention

HANDLE_MAX = 255  # author.handle
FOLLOWERS_MAX = 2**31 - 1  # author.followers (int4 on PostgreSQL)
EXTERNAL_ID_MAX = 1000  # mention.external_id: well under PostgreSQL's btree entry limit


def fit_handle(handle: str) -> str:
    """`handle` cut so that its stored form (`handle_key`: lower-cased, which can lengthen a
    string) fits the column."""
    handle = handle[:HANDLE_MAX + 1]  # `@` may be dropped by handle_key: one more may fit
    while len(handle_key(handle)) > HANDLE_MAX:
        handle = handle[:-1]
    return handle


def fit_followers(value: object) -> int:
    try:
        n = int(value)  # type: ignore[call-overload]  # anything a network sent
    except (TypeError, ValueError, OverflowError):
        return 0
    return min(max(n, 0), FOLLOWERS_MAX)


def fit_external_id(value: str) -> str:
    if len(value) <= EXTERNAL_ID_MAX:
        return value
    return "sha256:" + hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()


def fitted(m: Mention) -> Mention:
    """`m` with every value fitted to its column; `m` itself when all already fit."""
    a = m.author
    handle, followers = fit_handle(a.handle), fit_followers(a.followers)
    lang = bcp47(m.lang) if m.lang else None
    external_id = fit_external_id(m.external_id)
    if (handle, followers, lang, external_id) == (a.handle, a.followers, m.lang, m.external_id):
        return m
    return dataclasses.replace(
        m, external_id=external_id, lang=lang,
        author=dataclasses.replace(a, handle=handle, followers=followers))

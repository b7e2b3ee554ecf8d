"""What polling a source costs at its `every`, against the network's free quota. PURE.

`socialbot check --live` prints one line per source; a test holds the shipped defaults inside
the free quotas. A steady-state poll reads one page (the first poll and bursts read more,
within each source's page cap):

    reddit_*          1 request a poll. Reddit's free API allows 100 requests a minute per
                      OAuth client, averaged over 10 minutes; quota units: none.
    youtube_comments  1 request a poll (commentThreads.list, 1 unit). YouTube's default
                      quota is 10,000 units a day per Google Cloud project; a reply
                      (comments.insert) costs 50.
    google_play_reviews  1 request a poll (reviews.list; up to 4 in a burst). Google Play
                      allows 200 review reads an hour per app (and 2,000 replies a day).
    facebook_page     2 requests a poll (the Page's feed and tagged posts) plus one per
                      post with comments since the last poll. A Page token's business use
                      case allows 4,800 calls a day times the Page's engaged users (at
                      least one): the share is against 4,800.
    app_store_reviews 1 request a poll (customerReviews; up to 3 in a burst). App Store
                      Connect allows 3,600 requests an hour per key (`X-Rate-Limit`).
    instagram         2 requests a poll (the account's media and tags) plus one per media
                      whose comment count changed; counted against the same 4,800 a day.
    threads_*         1 request a poll (`/me/mentions` or `/keyword_search`; up to 3 pages).
                      Threads allows 2,200 keyword searches a day per user: the share for
                      `threads_search` is against that (mentions count against 4,800 calls
                      a day times the account's impressions, at least 10).
    x_*               1 request a poll; billed per post read (`cost_per_read`), not here.
    others            1 request a poll; no published quota that polling approaches.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from bot.domain.rules.schema import SourceSpec

REDDIT_REQUESTS_PER_MINUTE = 100
YOUTUBE_LIST_UNITS = 1  # commentThreads.list
YOUTUBE_INSERT_UNITS = 50  # comments.insert (a reply)
GOOGLE_PLAY_READS_PER_HOUR = 200  # reviews.list / reviews.get, per app
FACEBOOK_POLL_REQUESTS = 2  # /feed and /tagged; comment reads come on top
THREADS_SEARCHES_PER_DAY = 2_200  # keyword_search queries per user, rolling 24 h
PAGES_CALLS_PER_DAY = 4_800  # Pages business use case, per engaged user (at least one)
APP_STORE_REQUESTS_PER_HOUR = 3600  # App Store Connect, per key (X-Rate-Limit user-hour-lim)


@dataclass(frozen=True, slots=True)
class PollingCost:
    source_id: str
    type: str
    every: timedelta
    requests_per_hour: float
    units_per_hour: float
    limit: str  # the free quota, in words ("" when the network publishes none we approach)
    share: float | None  # the share of that quota the polling uses (None without one)

    @property
    def within(self) -> bool:
        return self.share is None or self.share <= 1.0

    def line(self) -> str:
        every = int(self.every.total_seconds())
        text = (f"{self.source_id} ({self.type}) every {every}s: "
                f"{self.requests_per_hour:,.0f} requests/h, {self.units_per_hour:,.0f} quota "
                "units/h")
        if self.share is not None:
            text += (f"; {self.share:.1%} of {self.limit}"
                     + ("" if self.within else " — OVER the free quota: raise `every`"))
        return text


def polling_cost(spec: SourceSpec) -> PollingCost:
    polls_per_hour = 3600 / spec.every.total_seconds()
    requests, units, limit, share = polls_per_hour, 0.0, "", None
    if spec.network == "reddit":
        limit = f"Reddit's {REDDIT_REQUESTS_PER_MINUTE} requests/minute"
        share = requests / (REDDIT_REQUESTS_PER_MINUTE * 60)
    elif spec.network == "youtube":
        units = polls_per_hour * YOUTUBE_LIST_UNITS
        limit = f"the {spec.daily_quota:,} units/day quota"
        share = units * 24 / spec.daily_quota
    elif spec.network == "google_play":
        limit = f"Google Play's {GOOGLE_PLAY_READS_PER_HOUR} review reads/hour"
        share = requests / GOOGLE_PLAY_READS_PER_HOUR
    elif spec.network in ("facebook", "instagram"):
        requests = polls_per_hour * FACEBOOK_POLL_REQUESTS
        limit = f"a Page's {PAGES_CALLS_PER_DAY:,} calls/day (one engaged user)"
        share = requests * 24 / PAGES_CALLS_PER_DAY
    elif spec.network == "app_store":
        limit = f"App Store Connect's {APP_STORE_REQUESTS_PER_HOUR:,} requests/hour"
        share = requests / APP_STORE_REQUESTS_PER_HOUR
    elif spec.type == "threads_search":
        limit = f"Threads' {THREADS_SEARCHES_PER_DAY:,} keyword searches/day"
        share = requests * 24 / THREADS_SEARCHES_PER_DAY
    return PollingCost(spec.id, spec.type, spec.every, requests, units, limit, share)

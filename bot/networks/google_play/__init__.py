"""Google Play reviews through the androidpublisher v3 API (google-api-python-client).

- `client`: the service-account client (`PlayApi`), built on first use from the discovery
  document shipped inside google-api-python-client, and reading its errors (`play_error`).
- `source`: `google_play_reviews`, the recent reviews of one package (`GooglePlaySource`).
- `publisher`: `reviews.reply` (one reply per review; replying again edits it) and finding
  our reply afterwards (`GooglePlayPublisher`).

May import `bot.domain`, `bot.config`, `bot.networks.base` and this package; nothing else of
the bot (see `bot.networks`).
"""

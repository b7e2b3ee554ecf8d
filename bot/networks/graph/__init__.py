"""Meta's Graph API over plain HTTP (httpx), shared by the Facebook, Instagram and Threads
adapters (Threads' API at graph.threads.net speaks the same dialect).

- `client`: `GraphClient` (GET/POST with the access token, the pinned API version, paging
  cursors) and `GraphError`, Meta's error body read once.
- `failures`: a `GraphError` as the bot's source and publisher errors.
- `usage`: the app-usage headers (`X-App-Usage`, `X-Business-Use-Case-Usage`) remembered
  between calls, so polls slow down before Meta's limit instead of hitting it.

May import `bot.config`, `bot.networks.base` and this package; nothing else of the bot.
"""

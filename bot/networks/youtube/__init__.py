"""YouTube comments through google-api-python-client (YouTube Data API v3).

- `client`: the API client (`build_youtube`: OAuth refresh token, the discovery document
  shipped with the library), the quota units of each call, and reading its errors
  (`error_reason`, `quota_reset`); shared by the source and the publisher.
- `source`: new top-level comments and replies on the brand channel's videos
  (`YouTubeCommentsSource`).
- `publisher`: reply to a comment (`comments.insert` with `parentId`) and finding our reply
  in its thread afterwards (`YouTubePublisher`).

May import `bot.domain`, `bot.config`, `bot.networks.base` and this package; nothing else of
the bot (see `bot.networks`).
"""

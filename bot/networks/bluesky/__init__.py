"""Bluesky through the atproto client.

- `client`: `BlueskySession`, the bot's one logged-in client (`build_bluesky`,
  `build_bluesky_if_set`), and reading atproto models and errors (`field_of`, `utc_time`,
  `post_url`, `is_token_error`); shared by the sources and the publisher.
- `source`: the brand's notifications and a post search (`BlueskyMentionsSource`,
  `BlueskySearchSource`).
- `publisher`: reply, like, repost, and finding our reply afterwards (`BlueskyPublisher`).

May import `bot.domain`, `bot.config`, `bot.networks.base` and this package; nothing else of
the bot (see `bot.networks`).
"""

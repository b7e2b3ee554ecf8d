"""X (Twitter) API v2 through tweepy.

- `client`: the tweepy `Client` (`build_x_client`), secrets kept out of the logs, and reading
  X's answers (`as_page`, `problem`, `ref_ids`); shared by the source and the publisher.
- `source`: the brand's mentions and recent search (`XMentionsSource`, `XSearchSource`).
- `publisher`: reply, like, repost, and finding our reply afterwards (`XPublisher`).

May import `bot.domain`, `bot.config`, `bot.networks.base` and this package; nothing else of
the bot (see `bot.networks`).
"""

"""RSS and Atom feeds (Google Alerts, news, blogs): `source` (`RssSource`), read only; a feed
has no channel to reply through, so there is no publisher and no shared client.

May import `bot.domain`, `bot.networks.base`, `bot.networks.htmltext` and this package; nothing
else of the bot (see `bot.networks`).
"""

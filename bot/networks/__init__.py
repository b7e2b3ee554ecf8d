"""Network adapters: how the bot reads mentions from, and writes to, X, Mastodon, Bluesky,
Reddit, YouTube, RSS/Atom feeds, Google Play and App Store reviews, Facebook Pages, Instagram
and Threads.

- `base`: the contract every adapter keeps: `Source` (fetch what is new since a `SourceState`)
  and `Publisher` (reply, like, repost, find our own reply), with their results and errors.
- `x`, `mastodon`, `bluesky`, `rss`, `reddit`, `youtube`, `google_play`, `app_store`,
  `facebook`, `instagram`, `threads`: one package per network. `client` holds what the
  network's source and publisher share (the client or session, error mapping, parsing
  helpers); `source` and `publisher` import it and never each other.
- `graph`: Meta's Graph API over httpx (client, usage headers, errors), shared by the Meta
  networks (`facebook`, `instagram`, `threads`; `instagram` also reads with the Page's client from
  `facebook.client`, the one place that builds it).
- `htmltext`: HTML fragments to plain text, for RSS entries and Mastodon statuses.
- `publishers`: the publishers the settings allow, for the composition root (`bot.app`).

Imports: modules here may import `bot.domain`, `bot.config` (credentials), `bot.__version__`,
`bot.networks.base`, `bot.networks.htmltext`, `bot.networks.graph` and their own network's package; only
`publishers` imports several networks. Never `bot.kit` (the database lives there),
`bot.listening`, `bot.desk`, `bot.slack` or `handlers`: those call the adapters, not the other
way round.
"""

"""Mastodon through Mastodon.py.

- `client`: the Mastodon.py client (`build_mastodon`) and reading its results and errors
  (`value_of`, `error_status`, `error_detail`); shared by the source and the publisher.
- `source`: the brand account's mention notifications (`MastodonSource`).
- `publisher`: reply, favourite, boost, and finding our reply afterwards (`MastodonPublisher`).

May import `bot.domain`, `bot.config`, `bot.networks.base`, `bot.networks.htmltext` and this
package; nothing else of the bot (see `bot.networks`).
"""

"""Facebook Page comments, visitor posts and tags through Meta's Graph API (`bot.networks.graph`).

- `client`: the Page's `GraphClient` from the settings, the fields we ask for, and reading
  Graph objects (times, authors, a post or comment as a `Mention`).
- `source`: `facebook_page`, new comments and replies on the Page's recent posts, visitor
  posts, and posts the Page is tagged in (`FacebookPageSource`).
- `publisher`: reply as the Page, like as the Page, hide/unhide a comment, and find our reply
  after a crash (`FacebookPublisher`).

May import `bot.domain`, `bot.config`, `bot.networks.base`, `bot.networks.graph` and this
package; nothing else of the bot (see `bot.networks`).
"""

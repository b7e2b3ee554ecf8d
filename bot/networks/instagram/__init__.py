"""Instagram comments and tags through the Instagram Graph API (a professional account linked
to the brand's Facebook Page, read with the Page token; `bot.networks.graph`).

- `client`: the fields we ask for and reading Instagram's media and comments.
- `source`: `instagram`, new comments and replies on the account's recent media and the media
  it is tagged in (`InstagramSource`).
- `publisher`: reply to a comment, hide/unhide it, find our reply after a crash
  (`InstagramPublisher`). Instagram lets a business answer comments only, not someone else's
  post: a tag's card says so and offers no Send.

May import `bot.domain`, `bot.config`, `bot.networks.base`, `bot.networks.graph`,
`bot.networks.facebook.client` (the Page's Graph client) and this package.
"""

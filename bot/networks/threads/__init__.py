"""Threads mentions and keyword search through the Threads API (graph.threads.net, the Graph
API's dialect: `bot.networks.graph`).

- `client`: the Threads client from the settings, who we are (`/me`), the fields we ask for.
- `source`: `threads_mentions` (posts that mention the account) and `threads_search` (recent
  posts matching a keyword, where the app has `threads_keyword_search`); each post's parent
  and thread root (`replied_to`, `root_post`), so an answer joins its card's thread.
- `conversations`: the replies of the brand's recent posts and of the threads the desk holds
  cards in, where a customer may answer without @-mentioning the brand.
- `publisher`: a reply in two steps (create a container, publish it), reconciled after a crash
  by looking for our reply under the parent (`ThreadsPublisher`).

May import `bot.domain`, `bot.config`, `bot.networks.base`, `bot.networks.graph` and this
package; nothing else of the bot (see `bot.networks`).
"""

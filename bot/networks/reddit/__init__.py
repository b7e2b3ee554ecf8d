"""Reddit through PRAW.

- `client`: the PRAW client (`build_reddit`), the user agent, the rate-limit window read from
  Reddit's `X-Ratelimit-*` headers (`RateWindow`), and reading PRAW's things without lazy
  fetches (`field`, `author_name`); shared by the source and the publisher.
- `source`: username mentions from the brand account's inbox (`RedditMentionsSource`) and
  keyword search in chosen subreddits or all of Reddit (`RedditSearchSource`).
- `publisher`: reply to a comment or a post as the brand account, upvote, and finding our
  reply under the parent afterwards (`RedditPublisher`).

May import `bot.domain`, `bot.config`, `bot.__version__`, `bot.networks.base` and this
package; nothing else of the bot (see `bot.networks`).
"""

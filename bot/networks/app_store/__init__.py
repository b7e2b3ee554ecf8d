"""App Store customer reviews through the App Store Connect API (ES256 JWT, requests).

- `client`: the signed-in session (`AscApi`: the team key's ES256 token, renewed before it
  expires; every request and its failure read once into `AscError`).
- `source`: `app_store_reviews`, the newest reviews of one app (`AppStoreSource`).
- `publisher`: `customerReviewResponses` (one response per review; replacing it is delete +
  create) and finding our response afterwards (`AppStorePublisher`).

May import `bot.domain`, `bot.config`, `bot.networks.base` and this package; nothing else of
the bot (see `bot.networks`).
"""

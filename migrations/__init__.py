"""Alembic's environment and revisions (`versions/`), date-prefixed. Installed as the package
`bot.kit.migrations` (setup.py), so a plain `pip install` can migrate; the revisions import
nothing from `bot`, `env.py` only `bot.config` and `bot.kit`."""

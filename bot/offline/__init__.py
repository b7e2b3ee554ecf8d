"""Commands that work on files and stored history, never on Slack: `replay/` (`socialbot
replay`, the dry run of a policy change) and `tune/` (`socialbot tune`, rule changes proposed
from staff corrections).

Imports: `bot.domain`, `bot.kit` (tune reads history). Nothing that talks to Slack or networks.
"""

"""Ids shared by the Block Kit builders (bot/blocks.py) and the listeners (handlers/).

One enum per Slack id space so a typo is an AttributeError, not a button that does nothing.
"""

from __future__ import annotations

from enum import StrEnum


class Command(StrEnum):
    SOCIAL = "/social"


class SocialSubcommand(StrEnum):
    HELP = "help"

"""socialbot: a Slack-native social media response desk."""

__version__ = "0.1.0"

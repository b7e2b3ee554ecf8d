"""Unit tests of bot.networks: what an adapter computes without a network (queries, bounds)."""

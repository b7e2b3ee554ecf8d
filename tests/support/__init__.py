"""What the tests share, and nothing else: fakes (the Slack Web API, the networks), the bot
run in-process or as a subprocess, sample rows and Block Kit checks, the fault-injection
world and its figures, helpers that run work in threads. Test modules import from here (or get
a fixture from a conftest.py), never from one another; names here are public."""

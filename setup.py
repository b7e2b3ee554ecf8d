"""Packaging that pyproject.toml cannot say: the Alembic scripts ship inside the package.

The repository keeps them at the top (`migrations/`, where ARCHITECTURE.md and Alembic's own
tooling look for them); installed, they are the package `bot.kit.migrations`, which
`bot.kit.db.migrations_dir()` finds with importlib.resources — in a wheel and in an editable
install alike, whatever the current directory."""

from setuptools import find_packages, setup  # script.py.mako: pyproject package-data

MIGRATIONS = {"bot.kit.migrations": "migrations",
              "bot.kit.migrations.versions": "migrations/versions"}

setup(
    packages=[*find_packages(include=["bot", "bot.*", "handlers", "handlers.*"]), *MIGRATIONS],
    package_dir=MIGRATIONS,
)

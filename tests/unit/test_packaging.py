"""What a plain `pip install` needs: no `pkg_resources` (gone from Python 3.12+ virtualenvs),
the Alembic scripts inside the package, every dependency pinned in constraints.txt.
`.ci/run` also installs the built wheel on Python 3.13 and migrates from another folder."""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from importlib import resources
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_bot_imports_without_pkg_resources() -> None:
    blocked = ("import sys; sys.modules['pkg_resources'] = None; "
               "import bot.app, bot.cli, bot.domain.limits, bot.networks.bluesky.publisher")
    done = subprocess.run([sys.executable, "-c", blocked], capture_output=True, text=True,
                          check=False)
    assert done.returncode == 0, done.stderr


def test_the_migrations_ship_inside_the_package() -> None:
    installed = resources.files("bot.kit.migrations")
    assert installed.joinpath("env.py").is_file()
    assert installed.joinpath("script.py.mako").is_file()
    shipped = sorted(p.name for p in installed.joinpath("versions").iterdir()
                     if p.name.endswith(".py"))
    assert shipped == sorted(p.name for p in (ROOT / "migrations" / "versions").glob("*.py"))


def _name(requirement: str) -> str:
    return re.split(r"[\s\[<>=!~;]", requirement, maxsplit=1)[0].lower().replace("_", "-")


def test_constraints_pin_every_dependency() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = {_name(r) for r in [*project["dependencies"],
                                 *project["optional-dependencies"]["dev"]]}
    lines = (ROOT / "constraints.txt").read_text().splitlines()
    pinned = {_name(line) for line in lines if "==" in line and not line.startswith("#")}
    assert wanted - pinned == set(), "run `bash tools/lock.sh` (constraints.txt's header says so)"

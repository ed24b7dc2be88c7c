"""`python -m coalition.adapters.cli.main` and the `coalition` script expose the same commands (issue 13: the module
run with -m had no `rules`, as its sub-commands were registered after `app()` ran, on a second copy of the module)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(sys.executable).parent / "coalition"
MODULE = (sys.executable, "-m", "coalition.adapters.cli.main")
COMMAND_ROW = re.compile(r"^│ ([a-z][a-z-]*)\s{2,}")
GROUPS = ("network", "rules", "settle", "permissions", "limits")


def _commands(*argv: str) -> list[str]:
    """The command names a `--help` lists, in order."""
    env = os.environ | {"COLUMNS": "200", "NO_COLOR": "1", "TERM": "dumb"}
    done = subprocess.run([*argv, "--help"], capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    commands = done.stdout.split("─ Commands ")[-1]
    return [found[1] for line in commands.splitlines() if (found := COMMAND_ROW.match(line))]


@pytest.mark.parametrize("group", [(), *((name,) for name in GROUPS)], ids=["top", *GROUPS])
def test_the_module_and_the_script_expose_the_same_commands(group: tuple[str, ...]) -> None:
    by_script = _commands(str(SCRIPT), *group)
    assert by_script, "no commands listed"
    assert _commands(*MODULE, *group) == by_script
    if not group:
        assert set(GROUPS) | {"migrate", "serve", "demo", "verify", "audit", "backup", "restore"} <= set(by_script)

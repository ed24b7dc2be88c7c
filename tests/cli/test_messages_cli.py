"""`coalition messages templates list|show|set|preview` on the demo: a text saved from a file, refused with its line,
previewed for the sample and a member."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from coalition.adapters.cli.common import console
from coalition.adapters.cli.main import app


def _run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args), terminal_width=200)
    return result.exit_code, result.output


def test_templates_listed_set_refused_and_previewed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(console, "_width", 200)
    url = f"sqlite:///{tmp_path / 'demo.db'}"
    db = ("--database-url", url)
    assert _run("demo", *db)[0] == 0
    code, output = _run("messages", "templates", "list", "demo", *db)
    assert code == 0 and output.count("built-in") == 28, output
    code, output = _run("messages", "templates", "show", "demo", "thank_you", "sms", "ru", *db)
    assert code == 0 and "Ваш баланс: {{ balance }}" in output and "Variables: member_name" in output, output

    text = tmp_path / "thanks.txt"
    text.write_text("Hi {{ member_name }}\n{{ balance }} points {{ nope }}", encoding="utf-8")
    code, output = _run("messages", "templates", "set", "demo", "thank_you", "sms", "en", "--body-file", str(text), *db)
    assert code == 2 and "error (body)" in output and "line 2" in output and "nope" in output, output
    text.write_text("Hi {{ member_name }}\n{{ balance }} points", encoding="utf-8")
    code, output = _run("messages", "templates", "set", "demo", "thank_you", "sms", "en", "--body-file", str(text), *db)
    assert code == 0 and "saved" in output, output
    code, output = _run("messages", "templates", "preview", "demo", "thank_you", "sms", "en", *db)
    assert code == 0 and "Hi Anna\n1250 points" in output, output
    code, output = _run("messages", "templates", "preview", "demo", "thank_you", "sms", "en", "--member", "1", *db)
    assert code == 0 and "Hi Anna" not in output and "points" in output, output
    code, output = _run("messages", "templates", "preview", "demo", "thank_you", "sms", "en", "--member", "999999", *db)
    assert code == 2 and "error (member_id)" in output, output
    code, output = _run("messages", "templates", "show", "demo", "thank_you", "fax", "en", *db)
    assert code == 2 and "error (channel)" in output, output


def test_settings_shown_and_set(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(console, "_width", 200)
    db = ("--database-url", f"sqlite:///{tmp_path / 'demo.db'}")
    assert _run("demo", *db)[0] == 0
    code, output = _run("messages", "settings", "show", "demo", *db)
    assert code == 0 and "Quiet hours: 21:00-09:00" in output and " on " not in output and "Version: 0" in output
    code, output = _run(
        "messages", "settings", "set", "demo", "--on", "thank_you:email", "--on", "thank_you:sms",
        "--quiet-hours", "22:00-08:00", "--cap", "2", "--threshold", "500", *db,
    )  # fmt: skip
    assert code == 0 and "Quiet hours: 22:00-08:00" in output and "Balance threshold: 500 points" in output, output
    assert "thank_you │ on    │ on" in output.replace("  ", " ") or output.count(" on ") >= 2, output
    code, output = _run("messages", "settings", "set", "demo", "--off", "thank_you:sms", "--threshold", "off", *db)
    assert code == 0 and "Balance threshold: off" in output and "Version: 2" in output, output
    code, output = _run("messages", "settings", "set", "demo", "--on", "thank_you:fax", *db)
    assert code == 2 and "enabled.thank_you" in output, output
    code, output = _run("messages", "settings", "set", "demo", "--cap", "0", *db)
    assert code == 2 and "cap_per_day" in output, output

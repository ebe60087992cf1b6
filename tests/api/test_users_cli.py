"""`docintake user create|disable`: the password from standard input, hashed with argon2;
a disabled account's key stops working at once."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from api.cli import app
from intake.runtime import Runtime
from intake.settings import load_settings
from storage.models import ApiKey
from storage.users import UserDirectory


def test_people_are_created_from_stdin_and_disabled(tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOCINTAKE_DATA_DIR", str(tmp_path))
    runner = CliRunner()
    made = runner.invoke(app, ["user", "create", "--username", "Wang.Li", "--role", "reviewer"],
                         input="a long enough secret\n")
    assert made.exit_code == 0, made.output
    assert "a long enough secret" not in made.output
    assert runner.invoke(app, ["user", "create", "--username", "x1", "--role", "system"],
                         input="a long enough secret\n").exit_code == 2
    short = runner.invoke(app, ["user", "create", "--username", "zhao", "--role", "clerk"],
                          input="short\n")
    assert short.exit_code == 2 and "10" in short.output
    again = runner.invoke(app, ["user", "create", "--username", "wang.li", "--role", "clerk"],
                          input="a long enough secret\n")
    assert again.exit_code == 2 and "exists" in again.output

    runtime = Runtime.from_settings(load_settings(data_dir=tmp_path))
    with runtime.database.session() as session:
        user = UserDirectory(session).by_name("wang.li")
        assert user is not None and user.password_hash.startswith("$argon2id$")
        key = session.get(ApiKey, user.key_id)
        assert key is not None and key.role == "reviewer" and key.revoked_at is None
    assert runner.invoke(app, ["user", "disable", "wang.li"]).exit_code == 0
    with runtime.database.session() as session:
        user = UserDirectory(session).by_name("wang.li")
        assert user is not None and user.disabled_at is not None
        key = session.get(ApiKey, user.key_id)
        assert key is not None and key.revoked_at is not None
    runtime.close()
    assert runner.invoke(app, ["user", "disable", "nobody"]).exit_code == 2

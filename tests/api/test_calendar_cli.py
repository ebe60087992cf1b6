"""`docintake calendar load/show` and approver keys, as an admin runs them."""

from __future__ import annotations

import json
from pathlib import Path

from tests.api.test_cli import run

SCHEDULE_2027 = """\
year: 2027
source: 测试用安排（not an official notice）
version: "test-1"
days:
  - {date: 2027-01-01, kind: statutory_holiday, name: 元旦}
  - {date: 2027-02-20, kind: adjusted_working_day, name: 春节}
"""


def test_calendar_show_load_and_replace(tmp_path: Path) -> None:
    env = {"DOCINTAKE_DATA_DIR": str(tmp_path / "data")}
    shown = run("calendar", "show", "2026", "--json", cwd=tmp_path, env=env)
    assert shown.returncode == 0, shown.stderr
    year = json.loads(shown.stdout)
    assert "国办发明电〔2025〕7号" in year["source"]
    assert {d["date"] for d in year["days"] if d["kind"] == "adjusted_working_day"} == {
        "2026-01-04", "2026-02-14", "2026-02-28", "2026-05-09", "2026-09-20", "2026-10-10"}
    seeded = json.loads(run("calendar", "show", "2015", "--json", cwd=tmp_path,
                            env=env).stdout)
    assert seeded["source"].startswith("chinesecalendar")

    missing = run("calendar", "show", "2027", cwd=tmp_path, env=env)
    assert missing.returncode == 1 and "provisional" in missing.stderr

    path = tmp_path / "2027.yaml"
    path.write_text(SCHEDULE_2027, encoding="utf-8")
    loaded = run("calendar", "load", str(path), cwd=tmp_path, env=env)
    assert loaded.returncode == 0, loaded.stderr
    assert "2 days" in loaded.stdout
    year = json.loads(run("calendar", "show", "2027", "--json", cwd=tmp_path,
                          env=env).stdout)
    assert year["version"] == "test-1" and len(year["days"]) == 2

    path.write_text(SCHEDULE_2027.replace("2027-02-20", "2027-02-22"), encoding="utf-8")
    broken = run("calendar", "load", str(path), cwd=tmp_path, env=env)
    assert broken.returncode == 1 and "weekday" in broken.stderr
    year = json.loads(run("calendar", "show", "2027", "--json", cwd=tmp_path,
                          env=env).stdout)
    assert len(year["days"]) == 2  # a refused file changes nothing


def test_apikey_create_knows_the_approver_role(tmp_path: Path) -> None:
    env = {"DOCINTAKE_DATA_DIR": str(tmp_path / "data")}
    created = run("apikey", "create", "--role", "approver", "--name", "科长", cwd=tmp_path,
                  env=env)
    assert created.returncode == 0, created.stderr
    assert created.stdout.startswith("dik_") and "approver" in created.stderr

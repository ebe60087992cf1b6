"""The `docintake` command as a user runs it: a real process, real files."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from samples import build_packet
from tests.helpers import text_pdf

DOCINTAKE = str(Path(sys.executable).with_name("docintake"))
CATALOG = Path(__file__).parents[2] / "rules" / "catalog"


def run(*args: str, cwd: Path, env: dict[str, str] | None = None,
        ) -> subprocess.CompletedProcess[str]:
    # OpenVINO's compile cache goes under the test's own directory, not the user's home.
    full_env = {**os.environ, "XDG_CACHE_HOME": str(cwd / "cache"), **(env or {})}
    return subprocess.run([DOCINTAKE, *args], cwd=cwd, env=full_env, capture_output=True,
                          text=True, timeout=600)


@pytest.mark.ocr
def test_check_reports_slot_states_for_a_packet_it_has_never_seen(tmp_path: Path) -> None:
    packet = build_packet("company-complete-with-agent", tmp_path / "scans", seed=23)
    result = run("check", "--item", packet.item_code, "--acceptance-date",
                 packet.acceptance_date.isoformat(), "--json",
                 *[str(p) for p in packet.files], cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["item"] == packet.item_code
    assert {s["code"]: s["state"] for s in report["slots"]} == packet.expected_states
    assert report["status"] == packet.expected_status
    for slot in report["slots"]:
        assert set(slot) >= {"code", "state", "documents", "findings"}
    form = next(d for d in report["documents"] if d["type"] == "application_form")
    for field in form["fields"].values():
        assert set(field) >= {"value", "confidence", "page", "box"}
    assert not (tmp_path / "data").exists() or not any((tmp_path / "data").iterdir())
    # the models compiled for this CPU are kept for the next run
    assert any((tmp_path / "cache" / "docintake" / "openvino").iterdir())

    plain = run("check", "--item", packet.item_code, "--acceptance-date",
                packet.acceptance_date.isoformat(), *[str(p) for p in packet.files],
                cwd=tmp_path, env={"COLUMNS": "160"})
    assert plain.returncode == 0
    assert "legal_rep_id_card" in plain.stdout and "Status:" in plain.stdout


def test_ocr_json_reads_the_text_layer_of_born_digital_pdfs(tmp_path: Path) -> None:
    pdf = tmp_path / "form.pdf"
    pdf.write_bytes(text_pdf([["食品安全管理制度", "一、从业人员健康管理制度"]]))
    garbage = tmp_path / "scan.jpg"
    garbage.write_bytes(b"this is not an image")
    result = run("ocr", str(pdf), str(garbage), "--json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    [page] = data["pages"]
    assert page["method"] == "text_layer" and page["page"] == 1 and page["rotation"] == 0
    texts = [ln["text"] for ln in page["lines"]]
    assert texts[:2] == ["食品安全管理制度", "一、从业人员健康管理制度"]
    x0, y0, x1, y1 = page["lines"][0]["box"]
    assert x0 < x1 and y0 < y1
    assert data["errors"][0]["source"].endswith("scan.jpg")
    # nothing needed OCR, so no model was loaded (or compiled)
    assert not (tmp_path / "cache").exists()


def test_apikey_create_prints_a_working_key_once(tmp_path: Path) -> None:
    from storage.apikeys import authenticate
    from storage.db import Database

    env = {"DOCINTAKE_DATA_DIR": str(tmp_path / "data")}
    result = run("apikey", "create", "--role", "reviewer", "--name", "back office",
                 cwd=tmp_path, env=env)
    assert result.returncode == 0, result.stderr
    key = result.stdout.strip()
    database = Database(f"sqlite:///{tmp_path / 'data' / 'docintake.db'}")
    with database.session() as session:
        row = authenticate(session, key)
        assert row is not None and row.role == "reviewer" and row.name == "back office"
    database.dispose()
    refused = run("apikey", "create", "--role", "root", cwd=tmp_path, env=env)
    assert refused.returncode == 2 and "unknown role" in refused.stderr


def test_broken_catalog_fails_at_start_with_file_and_path(tmp_path: Path) -> None:
    broken = tmp_path / "catalog"
    shutil.copytree(CATALOG, broken)
    item_file = broken / "items" / "company-establishment.yaml"
    text = item_file.read_text(encoding="utf-8")
    edited = text.replace("accepts: [articles_of_association]", "accepts: [no_such_material]")
    assert edited != text
    item_file.write_text(edited, encoding="utf-8")
    result = run("catalog", "validate", str(broken), cwd=tmp_path)
    assert result.returncode == 1
    assert "items/company-establishment.yaml: slots[1].accepts" in result.stderr
    assert "no_such_material" in result.stderr

    serve = run("serve", "--port", "1", cwd=tmp_path,
                env={"DOCINTAKE_CATALOG_DIR": str(broken),
                     "DOCINTAKE_DATA_DIR": str(tmp_path / "d")})
    assert serve.returncode == 2 and item_file.name in serve.stderr

    good = run("catalog", "validate", str(CATALOG), cwd=tmp_path)
    assert good.returncode == 0 and "3 items" in good.stdout

"""The reviewer's workbench and the supervision board in Chromium: a reviewer walks the
problems with the keyboard, corrects a field with a reason and sees the checklist change,
confirms a certificate and ends the review with a recommendation (no decide control); a
clerk cannot reach the reviewer's actions; untrusted OCR text and file names stay text;
axe on every page, screenshots kept.

Packets are born-digital PDFs (tests.certificates.packets) or a small image read by a fake
engine: real OCR is not what these tests are about."""

from __future__ import annotations

import io
import re
from typing import Any

import numpy as np
from PIL import Image
from playwright.sync_api import Page, expect

from intake.lifecycle import ActionRequest, Actor
from intake.runners import InlineRunner
from intake.service import IntakeService, Upload
from ocr.types import OcrLine
from tests.certificates.packets import ITEM, form, id_card, resident_id
from tests.helpers import text_pdf
from tests.web.conftest import Site, assert_accessible

GOOD = resident_id(12)
BAD = GOOD[:-1] + ("0" if GOOD[-1] != "0" else "1")  # the card's check digit misread
WINDOW = Actor(None, "window operator", "admin")


def _case(site: Site, uploads: list[Upload], *, accept: bool = True) -> tuple[str, str]:
    """A case read in this process (the app's runner is not needed), accepted at the
    window so that it waits for review. Returns (id, number)."""
    service = IntakeService(site.runtime, InlineRunner(site.runtime))
    case = service.create_case(ITEM)
    service.upload_batch(case.id, uploads)
    if accept:
        service.lifecycle.transition(case.id, "accept", WINDOW, ActionRequest())
    return case.id, case.number


def _misread_card(site: Site) -> tuple[str, str]:
    pdf = text_pdf([form("张三", GOOD), id_card("张三", BAD)])
    return _case(site, [Upload.from_bytes("packet.pdf", pdf, "application/pdf")])


def _focused_row(page: Page) -> Any:
    return page.locator(".field-row:has(.field-value:focus)")


def test_a_reviewer_corrects_a_field_and_confirms_a_certificate(
        site: Site, page: Page, shoot: Any) -> None:
    case_id, number = _misread_card(site)
    site.sign_in(page, "reviewer")
    expect(page).to_have_url(site.url + "/review")
    queue = page.get_by_role("table", name="待审查")
    expect(queue.get_by_role("link", name=number)).to_be_visible()
    expect(queue.locator(f"tr[data-case='{case_id}']")).to_have_attribute("data-light",
                                                                         re.compile("."))
    assert_accessible(page)
    shoot("queue")
    queue.get_by_role("link", name=number).click()
    checklist = page.get_by_role("table", name="材料清单")
    card_row = checklist.locator("tr[data-slot='operator_id_card']")
    expect(card_row).to_have_attribute("data-state", "invalid")
    assert_accessible(page)
    shoot("workbench")

    # 下一个问题 walks only the problems; Ctrl+Enter confirms one and moves on.
    page.get_by_role("button", name="下一个问题").click()
    first = _focused_row(page)
    expect(first).to_have_attribute("data-problem", re.compile("failing|uncertain"))
    first_key = first.get_attribute("data-key")
    expect(page.locator(f".field-box.active[data-key='{first_key}']")).to_have_count(1)
    card_key = page.locator(".field-row[data-field='id_number']").filter(
        has=page.locator(f"input[value='{BAD}']")).get_attribute("data-key")
    for _ in range(10):
        if _focused_row(page).get_attribute("data-key") == card_key:
            break
        page.keyboard.press("Control+Enter")
        expect(page.locator(".field-row[data-confirmed='true']")).not_to_have_count(0)
    expect(_focused_row(page)).to_have_attribute("data-key", str(card_key))
    # a confirmation is kept: the field now reads as checked by the reviewer
    expect(page.locator(f".field-row[data-key='{first_key}']")).to_contain_text(
        re.compile(r"由 reviewer1 于 .* 核对确认"))

    # 更正 with 更正原因: the checklist changes in place.
    page.keyboard.press("Control+a")
    page.keyboard.type(GOOD)
    page.get_by_label("更正原因").fill("与原件核对，校验位识别有误")
    page.get_by_role("button", name="更正", exact=True).click()
    expect(card_row).to_have_attribute("data-state", "present")
    expect(card_row).to_contain_text("已提交")
    corrected = page.locator(f".field-row[data-key='{card_key}']")
    expect(corrected).to_contain_text(re.compile(r"由 reviewer1 于 .* 更正"))
    expect(corrected.locator(".field-value")).to_have_value(GOOD)
    shoot("corrected")

    # A box brings its field forward.
    page.get_by_role("button", name=re.compile("^第 1 页")).click()
    expect(page.locator(f".field-box[data-key='{first_key}']")).not_to_have_class(
        re.compile("problem-failing"))  # the mismatch went with the correction
    page.locator(f".field-box[data-key='{first_key}']").click()
    expect(page.locator(f".field-row[data-key='{first_key}'] .field-value")).to_be_focused()

    # Shift+? lists the keys.
    page.locator("#canvas").focus()
    page.keyboard.press("Shift+?")
    keys = page.get_by_role("dialog", name="键盘快捷键")
    expect(keys).to_be_visible()
    expect(keys).to_contain_text("Ctrl")
    assert_accessible(page)
    page.keyboard.press("Escape")
    expect(keys).to_be_hidden()

    # 确认入库 on the ID card: it enters the shared store.
    card = page.locator(".material").filter(has=page.locator(f"[data-key='{card_key}']"))
    card.get_by_role("button", name="确认入库").click()
    expect(page.get_by_role("status").filter(has_text="已确认入库")).to_be_visible()
    expect(card.locator("[data-stored]")).to_contain_text("已入库（reviewer1 核验，有效）")

    # The review ends in a recommendation; the decision is not the reviewer's.
    page.get_by_label("建议准予许可").check()
    page.get_by_role("button", name="提交审查意见").click()
    expect(page.get_by_test_id("state")).to_have_text("审查")
    expect(page.get_by_role("status").filter(has_text="建议准予许可")).to_be_visible()
    expect(page.get_by_role("button", name=re.compile("作出决定|准予许可|不予许可"))
           ).to_have_count(0)
    assert_accessible(page)
    shoot("recommended")


def test_a_clerk_cannot_reach_the_reviewers_actions(site: Site, page: Page) -> None:
    case_id, _ = _misread_card(site)
    site.sign_in(page, "clerk")
    expect(page.get_by_role("link", name="待审查")).to_have_count(0)
    for path in ("/review", f"/review/{case_id}"):
        assert page.goto(site.url + path).status == 403  # type: ignore[union-attr]
    page.goto(site.url + f"/cases/{case_id}")
    expect(page.get_by_role("table", name="材料清单")).to_be_visible()
    for name in ("更正", "确认入库", "下一个问题", "确认并下一项"):
        expect(page.get_by_role("button", name=name)).to_have_count(0)
    token = page.locator("input[name=csrf_token]").first.get_attribute("value") or ""
    posts = {f"/review/{case_id}/correction": {"document_id": "d2", "field": "id_number",
                                               "value": GOOD, "reason": "x"},
             f"/review/{case_id}/confirmation": {"document_id": "d2", "field": "id_number"},
             f"/review/{case_id}/documents/d2/verify": {},
             f"/review/{case_id}/recommendation": {"recommendation": "approve"}}
    for path, data in posts.items():
        response = page.request.post(site.url + path, form={**data, "csrf_token": token},
                                     headers={"X-CSRF-Token": token})
        assert response.status == 403, (path, response.status)
    # the clerk's view of the same report keeps ID numbers masked
    assert GOOD not in page.content() and BAD not in page.content()


class ScriptedEngine:
    """A fake OCR engine whose lines carry script payloads."""

    name, version = "scripted", "scripted 0"

    def __init__(self, lines: list[str]) -> None:
        self.lines = lines

    def recognize(self, image: np.ndarray) -> list[OcrLine]:
        return [OcrLine(text, 0.55, (20.0, 20.0 + 40 * i, 400.0, 50.0 + 40 * i))
                for i, text in enumerate(self.lines)]


def test_untrusted_text_stays_text(site: Site, page: Page, shoot: Any) -> None:
    payloads = ['<img src=x onerror="window.__xss=1">个体工商户设立登记申请书',
                "<script>window.__xss=2</script>申请人：张三",
                '"><svg onload="window.__xss=3">']
    site.runtime.engine_override = ScriptedEngine(payloads)  # type: ignore[assignment]
    image = Image.new("L", (600, 800), 255)
    for y in range(100, 700, 40):  # something to read, so the page is not blank
        image.paste(0, (60, y, 540, y + 12))
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    name = '<img src=x onerror="window.__xss=4">.png'
    case_id, _ = _case(site, [Upload.from_bytes(name, buffer.getvalue(), "image/png")])
    site.sign_in(page, "reviewer")
    page.goto(site.url + f"/review/{case_id}")
    page.get_by_label("显示全部文字行").check()
    lines = page.locator(".page-svg .line title")
    expect(lines.first).to_contain_text("<img src=x onerror=")
    assert page.locator(".page-svg .line").count() == len(payloads)
    assert page.evaluate("window.__xss") is None
    assert page.locator("img[src=x], script:not([src])").count() == 0
    assert_accessible(page)
    shoot("untrusted")
    page.goto(site.url + f"/cases/{case_id}")
    expect(page.get_by_role("table", name="材料清单")).to_be_visible()
    assert page.evaluate("window.__xss") is None


def test_the_supervision_board(site: Site, page: Page, shoot: Any) -> None:
    _misread_card(site)
    site.sign_in(page, "approver")
    page.goto(site.url + "/supervision")
    counts = page.get_by_role("table", name="在办件按事项和预警")
    expect(counts.locator(f"tr[data-item='{ITEM}']")).to_be_visible()
    expect(page.get_by_role("img", name=re.compile("收件 1 件"))).to_be_visible()
    expect(page.locator(".chart rect.received")).not_to_have_count(0)
    expect(page.get_by_role("heading", name=re.compile("红灯"))).to_be_visible()
    assert_accessible(page)
    shoot("supervision")
    site.sign_in(page, "reviewer")
    assert page.goto(site.url + "/supervision").status == 403  # type: ignore[union-attr]

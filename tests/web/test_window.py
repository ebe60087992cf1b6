"""The window in Chromium, by accessible names only: a clerk opens a case, uploads a packet,
watches it being read, reads the checklist against the packet's ground truth, accepts, and
prints the stored notice; untrusted file names stay text; a reviewer cannot act at the
window."""

from __future__ import annotations

import re
from pathlib import Path

from playwright.sync_api import Page, expect

from samples import build_packet
from tests.web.conftest import Site, assert_accessible

STATE_WORDS = {"present": "已提交", "reused": "免提交", "committed": "告知承诺",
               "not_required": "无需提交", "missing": "缺少", "invalid": "不符合要求",
               "needs_review": "待人工核对"}


def _open_case(page: Page, site: Site, item: str) -> None:
    page.goto(site.url + "/window")
    page.get_by_label("事项").fill(item)
    page.get_by_role("button", name="新建办件").click()
    expect(page.get_by_role("heading", name=re.compile("^办件 "))).to_be_visible()


def test_a_clerk_takes_in_a_packet_and_accepts_it(site: Site, page: Page, shoot: object,
                                                   tmp_path: Path) -> None:
    packet = build_packet("individual-committed", tmp_path / "packet", seed=3)
    site.sign_in(page, "clerk")
    expect(page).to_have_url(site.url + "/window")
    assert_accessible(page)
    shoot("window")  # type: ignore[operator]
    _open_case(page, site, "个体工商户设立登记")  # found by its name
    page.get_by_label(re.compile("选择扫描件")).set_input_files([str(p) for p in packet.files])
    page.get_by_role("button", name="上传材料").click()
    checklist = page.get_by_role("table", name="材料清单")
    expect(checklist).to_be_visible()
    # live progress until every page is read, then the checklist settles
    expect(page.get_by_text("（已完成）")).to_be_visible(timeout=240_000)
    for slot, state in packet.expected_states.items():
        row = checklist.locator(f"tr[data-slot='{slot}']")
        expect(row).to_have_attribute("data-state", state)
        expect(row).to_contain_text(STATE_WORDS[state])
    # a submitted material names its pages in the case
    expect(checklist.locator("tr[data-slot='application_form'] td").nth(1)).to_have_text(
        re.compile(r"\d"))
    assert_accessible(page)
    shoot("checklist")  # type: ignore[operator]
    page.get_by_role("button", name="受理").click()
    expect(page.get_by_test_id("state")).to_have_text("受理")
    code = page.get_by_test_id("query-code").inner_text()
    assert re.fullmatch(r"[2-9A-Z]{8}", code)
    with page.expect_popup() as popup:
        page.get_by_role("link", name="打开并打印通知书").click()
    notice = popup.value
    notice.wait_for_load_state()
    assert notice.url.endswith(".pdf")
    shoot("accepted")  # type: ignore[operator]
    page.reload()  # the code is shown once only
    expect(page.get_by_test_id("query-code")).to_have_count(0)
    expect(page.get_by_role("link", name="打印")).to_have_count(1)


def test_a_one_time_notice_for_an_incomplete_packet(site: Site, page: Page, shoot: object,
                                                    tmp_path: Path) -> None:
    packet = build_packet("individual-missing", tmp_path / "packet", seed=5)
    site.sign_in(page, "clerk")
    _open_case(page, site, "individual-business-registration")  # found by its code
    page.get_by_label(re.compile("选择扫描件")).set_input_files([str(p) for p in packet.files])
    page.get_by_role("button", name="上传材料").click()
    expect(page.get_by_text("（已完成）")).to_be_visible(timeout=240_000)
    checklist = page.get_by_role("table", name="材料清单")
    expect(checklist.locator("tr[data-slot='operator_id_card']")).to_have_attribute(
        "data-state", "missing")
    page.get_by_role("button", name="打印一次性告知书").click()
    expect(page.get_by_test_id("state")).to_have_text("补正")
    expect(page.get_by_role("link", name="打开并打印通知书")).to_be_visible()
    shoot("returned")  # type: ignore[operator]
    # printing again prints the stored record, not a second notice
    with page.expect_popup() as popup:
        page.get_by_role("button", name="打印一次性告知书").click()
    reprint = popup.value
    reprint.wait_for_load_state()
    assert re.search(r"/notices/[0-9a-f-]+\.pdf", reprint.url)
    expect(page.get_by_role("link", name="打印", exact=True)).to_have_count(1)
    # acceptance waits for the supplement (a new batch brings the case back)
    expect(page.get_by_role("button", name="受理")).to_have_count(0)


def test_file_names_are_text_and_a_reviewer_has_no_window(site: Site, page: Page,
                                                          tmp_path: Path) -> None:
    ran: list[str] = []
    page.on("dialog", lambda dialog: (ran.append(dialog.message), dialog.dismiss()))
    site.sign_in(page, "clerk")
    _open_case(page, site, "food-business-license")
    evil = tmp_path / "<img src=x onerror=alert(1)><svg onload=alert(2)>.pdf"
    evil.write_bytes(b"")  # empty: rejected, and its name shown with the reason
    page.get_by_label(re.compile("选择扫描件")).set_input_files([str(evil)])
    page.get_by_role("button", name="上传材料").click()
    expect(page.get_by_text("文件为空", exact=False)).to_be_visible(timeout=60_000)
    expect(page.get_by_text("<img src=x onerror=alert(1)>", exact=False)).to_be_visible()
    assert page.locator("svg[onload]").count() == 0
    assert page.locator("img[src='x']").count() == 0
    assert ran == []
    case_url = page.url
    page.get_by_role("button", name="退出登录").click()
    site.sign_in(page, "reviewer")
    response = page.goto(site.url + "/window")
    assert response is not None and response.status == 403
    page.goto(case_url)
    expect(page.get_by_role("button", name="受理")).to_have_count(0)
    expect(page.get_by_role("button", name="上传材料")).to_have_count(0)

"""Every page reference in a report names the case's page: the number the clerk sees in the
batch view and the archive PDF (`Page.sequence`), even when pages ahead of it failed."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pypdfium2

from intake.runners import InlineRunner
from intake.runtime import Runtime
from intake.service import IntakeService, Upload
from storage.cases import CaseRepository
from tests.certificates.packets import ITEM, form, id_card, resident_id
from tests.helpers import text_pdf
from tests.ocr.pagekit import pdf_with_huge_image

# Numbers written into Chinese and English messages: 第2页, 第 2 页, 第2、7页, Page 2.
ZH_PAGES = re.compile(r"第\s*(\d+(?:\s*、\s*\d+)*)\s*页")
EN_PAGES = re.compile(r"\b[Pp]ages?\s+(\d+)")


def _numbers_in_text(text: str) -> list[int]:
    found = [int(n) for group in ZH_PAGES.findall(text) for n in re.split(r"\s*、\s*", group)]
    return found + [int(n) for n in EN_PAGES.findall(text)]


def _page_references(node: Any, path: str = "") -> Iterator[tuple[str, int]]:
    """(path, number) for every page reference in a report: `page`/`pages`/
    `unassigned_pages` values anywhere (fields, evidence, unreadable) and page numbers
    written in any message."""
    if isinstance(node, dict):
        for k, v in node.items():
            yield from _page_references(v, f"{path}/{k}")
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _page_references(v, f"{path}[{i}]")
    elif isinstance(node, str):
        for n in _numbers_in_text(node):
            yield f"{path}={node}", n
    elif isinstance(node, int) and not isinstance(node, bool) and path.rsplit("/", 1)[-1] \
            .split("[")[0] in ("page", "pages", "unassigned_pages"):
        yield path, node


def _notice_text(pdf: bytes) -> str:
    # pdfplumber reads no text from fpdf2's embedded CFF font (see intake.notification);
    # pypdfium2 does.
    doc = pypdfium2.PdfDocument(pdf)
    text = "".join(re.sub(r"\s+", "", page.get_textpage().get_text_range()) for page in doc)
    # The notice's own footer numbers its sheets ("第1页共2页"): not a page of the case.
    return re.sub(r"第\d+页共\d+页", "", text)


def test_a_failed_page_ahead_of_the_others_shifts_no_reference(runtime: Runtime) -> None:
    owner, other = resident_id(101), resident_id(202, birth="19900515")
    uploads = [
        # case pages 1 (an image too large to decode: fails) and 2 (not a material)
        Upload.from_bytes("a-first.pdf", pdf_with_huge_image()),
        # case pages 3-5: the form, the operator's ID card, someone else's ID card
        Upload.from_bytes("b-packet.pdf", text_pdf([form("王小明", owner), id_card("王小明", owner),
                                         id_card("李四", other)])),
        # case pages 6 (fails: page 1 of its file) and 7 (not a material)
        Upload.from_bytes("c-last.pdf", pdf_with_huge_image(width=99_999)),
    ]
    service = IntakeService(runtime, InlineRunner(runtime))
    case = service.create_case(ITEM)
    progress = service.upload_batch(case.id, uploads)
    assert progress.status == "completed" and progress.pages_failed == 2
    with runtime.database.session() as session:
        sequence = {(p.file.filename, p.index_in_file): p.sequence
                    for p in CaseRepository(session).pages_of_case(case.id)}
    assert sequence == {("a-first.pdf", 1): 1, ("a-first.pdf", 2): 2, ("b-packet.pdf", 1): 3,
                        ("b-packet.pdf", 2): 4, ("b-packet.pdf", 3): 5, ("c-last.pdf", 1): 6,
                        ("c-last.pdf", 2): 7}

    report = service.case_report(case.id)

    # unreadable pages: the case's numbers, in the field and in both languages of the text
    assert [(u["source"], u["page"], u["code"]) for u in report["unreadable"]] == [
        ("a-first.pdf", 1, "page.too_many_pixels"), ("c-last.pdf", 6, "page.too_many_pixels")]
    assert "第 6 页图像尺寸异常过大" in report["unreadable"][1]["message"]
    assert "Page 6:" in report["unreadable"][1]["message"]
    # pages nobody could classify: the finding's message and its evidence
    unclassified = next(f for f in report["findings"] if f["code"] == "unclassified_pages")
    assert unclassified["message"].startswith("第2、7页未能识别材料类型")
    assert unclassified["evidence"]["pages"] == [2, 7]
    # documents and the fields read on them
    pages_of = {d["id"]: d["pages"] for d in report["documents"]}
    assert sorted(pages_of.values()) == [[3], [4], [5]]
    for doc in report["documents"]:
        for field in doc["fields"].values():
            if field["value"] is not None:
                assert field["page"] in doc["pages"]
    surplus = next(f for f in report["findings"] if f["code"] == "surplus_documents")
    assert "（第5页）" in surplus["message"]
    assert set(report["unassigned_pages"]) == {2, 5, 7}

    # Every reference anywhere names a page of the case, and the failed and unknown
    # pages are referred to by their own numbers only.
    references = list(_page_references(report))
    assert len(references) > 20, references
    assert {n for _, n in references} <= set(sequence.values()), references
    unreadable = {n for where, n in references if where.startswith("/unreadable")}
    assert unreadable == {1, 6}
    unknown = {n for where, n in references if where.startswith(
        f"/findings[{report['findings'].index(unclassified)}]")}
    assert unknown == {2, 7}
    documents = {n for where, n in references if where.startswith(("/documents", "/slots"))}
    assert documents == {3, 4, 5}

    # The printed notice carries the same numbers.
    notice = _notice_text(service.notification_pdf(case.id))
    assert "第1页图像尺寸异常过大" in notice and "第6页图像尺寸异常过大" in notice
    assert "第2、7页未能识别材料类型" in notice
    assert set(_numbers_in_text(notice)) == {1, 2, 6, 7}

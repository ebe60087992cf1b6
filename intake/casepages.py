"""What the people's pages read of a case beyond the API's views: the cases a principal is
working on, the pages to rescan with why, and small images of pages. Every read goes
through the access rule (`intake.access`)."""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import datetime
from typing import Final

from PIL import Image

from intake.access import Principal, case_for, may_open
from intake.runtime import Runtime
from ocr.quality import message as quality_message
from storage.cases import CaseRepository
from storage.models import Page

THUMBNAIL_SIDE: Final = 480
QUALITY_WORDS: Final = {
    "quality.blurry": "图像模糊", "quality.too_dark": "图像过暗", "quality.cut_off": "内容被裁切",
    "quality.low_resolution": "分辨率过低",
}


@dataclass(frozen=True)
class CaseLine:
    id: str
    number: str
    item_code: str
    state: str
    status: str
    received: datetime


@dataclass(frozen=True)
class RescanPage:
    page_id: str
    number: int  # the case's page number
    filename: str
    page_in_file: int
    problems: tuple[str, ...]  # in words, for the clerk
    blank: bool
    failed: bool


def recent_cases(runtime: Runtime, principal: Principal, limit: int = 20) -> list[CaseLine]:
    with runtime.database.session() as session:
        rows = CaseRepository(session).recent_cases(limit=limit * 5,
                                                    center_id=principal.center_id)
        return [CaseLine(c.id, c.number, c.item_code, c.state, c.status, c.created_at)
                for c in rows if may_open(principal, c)][:limit]


def rescan_list(runtime: Runtime, case_id: str, principal: Principal) -> list[RescanPage]:
    """Pages the clerk should look at again: unreadable, blank, or flagged by the quality
    gate (blurry, too dark, cut off, low resolution), each with its reasons in words."""
    out: list[RescanPage] = []
    with runtime.database.session() as session:
        case_for(session, principal, case_id)
        for page in CaseRepository(session).pages_of_case(case_id):
            problems: list[str] = []
            quality = [str(q["code"] if isinstance(q, dict) else q)
                       for q in ((page.ocr or {}).get("quality") or [])]
            for code in quality:
                words = QUALITY_WORDS.get(code, code)
                problems.append(f"{words}：{quality_message(code).split('(', 1)[0]}")
            blank = page.status == "blank"
            failed = page.status == "failed"
            if blank:
                problems.append("空白页（如为双面扫描的背面可忽略）")
            if failed:
                problems.append((page.error_message or "无法识别").split("(", 1)[0])
            if problems:
                out.append(RescanPage(page.id, page.sequence, page.file.filename,
                                      page.index_in_file, tuple(problems), blank, failed))
    return out


def page_thumbnail(runtime: Runtime, case_id: str, page_id: str, principal: Principal
                   ) -> bytes:
    """A PNG of the page, at most `THUMBNAIL_SIDE` pixels a side, made once and kept as a
    derived object. Only pages the pipeline read (so within every budget) are drawn."""
    from intake.errors import IntakeError

    key = f"derived/thumbnails/{page_id}.png"
    with runtime.database.session() as session:
        case_for(session, principal, case_id)
        page = session.get(Page, page_id)
        if page is None or page.case_id != case_id or page.status == "failed":
            raise IntakeError("page.not_found", page_id=page_id)
        object_key, fmt, index = page.file.object_key, page.file.format, page.index_in_file
    if runtime.objects.exists(key):
        return runtime.objects.get(key)
    data = runtime.objects.get(object_key)
    image = _pdf_page(data, index) if fmt == "pdf" else _image_page(data, index)
    image.thumbnail((THUMBNAIL_SIDE, THUMBNAIL_SIDE))
    buffer = io.BytesIO()
    image.convert("RGB").save(buffer, "PNG", optimize=True)
    png = buffer.getvalue()
    runtime.objects.put(key, png)
    return png


def _image_page(data: bytes, index: int) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.draft("RGB", (THUMBNAIL_SIDE * 2, THUMBNAIL_SIDE * 2))  # JPEG: decode reduced
    image.seek(index - 1)
    image.load()
    return image


def _pdf_page(data: bytes, index: int) -> Image.Image:
    import pypdfium2 as pdfium

    document = pdfium.PdfDocument(data)
    try:
        page = document[index - 1]
        width, height = page.get_size()
        scale = THUMBNAIL_SIDE / max(width, height, 1)
        image: Image.Image = page.render(scale=scale).to_pil()
        return image
    finally:
        document.close()

"""What the people's pages read of a case beyond the API's views: the cases a principal is
working on, the pages to rescan with why, small images of pages, and for the reviewer's
workbench each page's image with its OCR lines and the fields of each material with their
provenance. Every read goes through the access rule (`intake.access`), and every text read
from paper (OCR lines, field values, file names) through the one masking policy
(`intake.masking`)."""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Final

from PIL import Image

from intake.access import Principal, case_for, may_open
from intake.corrections import CONFIRMED
from intake.runtime import Runtime
from ocr.pdfium_lock import PDFIUM
from ocr.quality import message as quality_message
from rules.completeness import LOW_CONFIDENCE
from storage.cases import CaseRepository
from storage.models import Page

THUMBNAIL_SIDE: Final = 480
REVIEW_SIDE: Final = 1400  # the reviewer's page image: legible when zoomed in

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
    return page_image(runtime, case_id, page_id, principal, side=THUMBNAIL_SIDE)


def page_image(runtime: Runtime, case_id: str, page_id: str, principal: Principal, *,
               side: int = REVIEW_SIDE) -> bytes:
    """A PNG of the page at most `side` pixels a side, turned upright as it was read (the
    OCR boxes are in that frame), made once and kept as a derived object."""
    from intake.errors import IntakeError

    key = f"derived/pages/{side}/{page_id}.png"
    with runtime.database.session() as session:
        case_for(session, principal, case_id)
        page = session.get(Page, page_id)
        if page is None or page.case_id != case_id or page.status == "failed":
            raise IntakeError("page.not_found", page_id=page_id)
        object_key, fmt, index = page.file.object_key, page.file.format, page.index_in_file
        rotation = page.rotation or 0
        ocr = page.ocr or {}
        warp = ocr.get("warp")
        frame = (float(ocr.get("width") or 0), float(ocr.get("height") or 0))
    if runtime.objects.exists(key):
        return runtime.objects.get(key)
    data = runtime.objects.get(object_key)
    image = _pdf_page(data, index, side) if fmt == "pdf" else _image_page(data, index, side)
    if isinstance(warp, list) and len(warp) == 9 and min(frame) > 0:
        image = straighten(image, [float(v) for v in warp], frame, side)
    elif rotation % 360:
        image = image.rotate(-rotation, expand=True)  # clockwise, as the reader turned it
    image.thumbnail((side, side))
    buffer = io.BytesIO()
    image.convert("RGB").save(buffer, "PNG", optimize=True)
    png = buffer.getvalue()
    runtime.objects.put(key, png)
    return png


def straighten(photo: Image.Image, warp: Sequence[float], frame: tuple[float, float],
               side: int) -> Image.Image:
    """A photographed document as it was read: `warp` (`OcrPage.warp`) maps the page's
    coordinates (`frame` = its width and height) to fractions of the photo, so the page is
    drawn pixel by pixel from the photo at most `side` pixels a side."""
    scale = side / max(frame)
    size = (max(1, round(frame[0] * scale)), max(1, round(frame[1] * scale)))
    w, h = photo.size
    m = [[warp[0], warp[1], warp[2]], [warp[3], warp[4], warp[5]], [warp[6], warp[7], warp[8]]]
    # output pixel -> page coordinates (÷ scale) -> photo fractions (warp) -> photo pixels
    rows = [[m[r][0] / scale, m[r][1] / scale, m[r][2]] for r in range(3)]
    rows[0] = [v * w for v in rows[0]]
    rows[1] = [v * h for v in rows[1]]
    norm = rows[2][2] or 1.0
    coefficients = [v / norm for v in (*rows[0], *rows[1], rows[2][0], rows[2][1])]
    return photo.convert("RGB").transform(size, Image.Transform.PERSPECTIVE, coefficients,
                                          Image.Resampling.BILINEAR, fillcolor="white")


def _image_page(data: bytes, index: int, side: int) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.draft("RGB", (side * 2, side * 2))  # JPEG: decode reduced
    image.seek(index - 1)
    image.load()
    return image




def _pdf_page(data: bytes, index: int, side: int) -> Image.Image:
    import pypdfium2 as pdfium

    with PDFIUM:  # one PDFium user at a time in this process (ocr.pdfium_lock)
        document = pdfium.PdfDocument(data)
        try:
            page = document[index - 1]
            width, height = page.get_size()
            scale = side / max(width, height, 1)
            image: Image.Image = page.render(scale=scale).to_pil()
            image.load()
            return image
        finally:
            document.close()


# -- the reviewer's workbench ---------------------------------------------------------------
@dataclass(frozen=True)
class LineView:
    text: str
    confidence: float
    x: float
    y: float
    width: float
    height: float
    low: bool  # read below `LOW_CONFIDENCE`: drawn by default


@dataclass(frozen=True)
class PageView:
    page_id: str
    number: int  # the case's page number
    width: float
    height: float
    source: str  # how it was read, in words
    material: str
    lines: tuple[LineView, ...]
    readable: bool  # done (blank and failed pages have no image worth drawing boxes on)


@dataclass(frozen=True)
class FieldView:
    key: str  # "<document>.<field>": the id that ties a field to its box on the page
    document: str
    name: str
    label: str
    value: str | None
    confidence: float
    page: int | None
    box: tuple[float, float, float, float] | None  # x, y, width, height
    problem: str  # "failing", "uncertain" or "" (walked by 下一个问题)
    messages: tuple[str, ...]  # why, in words
    provenance: str
    corrected: bool
    masked: bool = False  # shown masked by the policy: it cannot be corrected from here


@dataclass(frozen=True)
class MaterialView:
    id: str
    type: str
    name: str
    pages: tuple[int, ...]
    certificate: bool  # a certificate type: a reviewer may confirm it into the store
    fields: tuple[FieldView, ...]


def _box(box: Any) -> tuple[float, float, float, float] | None:
    if not isinstance(box, list | tuple) or len(box) != 4:
        return None
    x0, y0, x1, y1 = (float(v) for v in box)
    return (x0, y0, max(x1 - x0, 1.0), max(y1 - y0, 1.0))


def _source_words(page: Page) -> str:
    if page.method == "text_layer":
        return "PDF 文字层"
    # The engine's label names its models and runtime too; the reviewer needs its name.
    engine = (page.engine or "").split(":", 1)[0].strip()
    return f"OCR 识别（{engine}）" if engine else "OCR 识别"


def review_pages(runtime: Runtime, case_id: str, principal: Principal) -> list[PageView]:
    """Every page of the case with its lines, their text masked for the principal's role."""
    from intake.masking import Masker

    masker = Masker(principal.role, runtime.catalog)
    out: list[PageView] = []
    with runtime.database.session() as session:
        case_for(session, principal, case_id)
        for page in CaseRepository(session).pages_of_case(case_id):
            ocr = page.ocr or {}
            lines = []
            for line in ocr.get("lines") or []:
                box = _box(line.get("box"))
                if box is None:
                    continue
                confidence = float(line.get("confidence") or 0.0)
                lines.append(LineView(masker.text(str(line.get("text", ""))), confidence,
                                      *box, low=confidence < LOW_CONFIDENCE))
            mtype = runtime.catalog.material_types.get(page.material_type or "")
            out.append(PageView(
                page.id, page.sequence, float(ocr.get("width") or 595.0),
                float(ocr.get("height") or 842.0), _source_words(page),
                mtype.name if mtype else "未识别材料", tuple(lines),
                readable=page.status == "done"))
    return out


def _when(at: str, timezone: str) -> str:
    from zoneinfo import ZoneInfo

    try:
        moment = datetime.fromisoformat(at)
    except ValueError:
        return at
    return moment.astimezone(ZoneInfo(timezone)).strftime("%Y-%m-%d %H:%M")


def review_materials(runtime: Runtime, report: Mapping[str, Any], pages: Sequence[PageView]
                     ) -> list[MaterialView]:
    """The materials of a report (already masked for the viewer) with every field's value,
    confidence, provenance and whether it is a problem: failing (invalid, or named by a
    finding) or uncertain (read below `LOW_CONFIDENCE`, or a finding that needs review)."""
    sources = {p.number: p.source for p in pages}
    timezone = runtime.settings.timezone
    flagged: dict[tuple[str, str], list[tuple[str, bool]]] = {}
    for slot in report.get("slots", []):
        for finding in slot.get("findings", []):
            for evidence in (finding.get("evidence") or {},
                             (finding.get("evidence") or {}).get("other_evidence") or {}):
                doc, name = evidence.get("document"), evidence.get("field")
                if doc and name:
                    text = str(finding.get("message", "")).split("(", 1)[0]
                    flagged.setdefault((str(doc), str(name)), []).append(
                        (text, bool(finding.get("needs_review"))))
    out: list[MaterialView] = []
    for doc in report.get("documents", []):
        mtype = runtime.catalog.material_types.get(str(doc.get("type")))
        fields: list[FieldView] = []
        for name, data in (doc.get("fields") or {}).items():
            if not isinstance(data, Mapping):
                continue
            fdef = mtype.field(name) if mtype else None
            label = (fdef.display or (fdef.labels[0] if fdef.labels else name)) \
                if fdef else name
            confidence = float(data.get("confidence") or 0.0)
            messages = [m for m, _ in flagged.get((str(doc["id"]), name), [])]
            if data.get("problem"):
                messages.insert(0, str(data["problem"]))
            hard = data.get("valid") is False or any(
                not soft for _, soft in flagged.get((str(doc["id"]), name), []))
            soft = confidence < LOW_CONFIDENCE or bool(flagged.get((str(doc["id"]), name)))
            page = data.get("page")
            box = _box(data.get("box"))
            corrected = data.get("corrected") if isinstance(data.get("corrected"),
                                                            Mapping) else None
            where = f"第 {page} 页" if page else "页码不明"
            if box:
                where += f"，位置 ({box[0]:.0f}, {box[1]:.0f})"
            if corrected:
                old = corrected.get("value")
                by = str(corrected.get("by") or "").removeprefix("user:")  # a person
                when = _when(str(corrected.get("at")), timezone)
                if corrected.get("reason") == CONFIRMED:
                    provenance = f"由 {by} 于 {when} 核对确认；识别：{where}"
                else:
                    provenance = (f"由 {by} 于 {when} 更正"
                                  f"（原值：{old if old not in (None, '') else '空'}；"
                                  f"原因：{corrected.get('reason')}）；原识别：{where}")
            else:
                provenance = f"{sources.get(page, '识别') if page else '识别'}，{where}"
            value = data.get("value")
            if value is None and data.get("open_ended"):
                value = "长期"
            fields.append(FieldView(
                f"{doc['id']}.{name}", str(doc["id"]), name, label,
                None if value is None else str(value), confidence,
                int(page) if isinstance(page, int) else None, box,
                "failing" if hard else "uncertain" if soft and not corrected else "",
                tuple(dict.fromkeys(messages)), provenance, corrected is not None,
                masked=bool(data.get("masked"))))
        out.append(MaterialView(str(doc["id"]), str(doc.get("type")),
                                mtype.name if mtype else str(doc.get("type")),
                                tuple(doc.get("pages") or ()),
                                bool(mtype and mtype.certificate), tuple(fields)))
    return out


# -- the supervision board ------------------------------------------------------------------
@dataclass(frozen=True)
class DayFlow:
    day: date
    received: int
    closed: int


def daily_flow(runtime: Runtime, principal: Principal, working_days: int = 15
               ) -> list[DayFlow]:
    """Cases received and closed (办结) on each of the last `working_days` working days up
    to today, of the cases the principal may open."""
    from datetime import timedelta

    from sqlalchemy import or_, select

    from intake.lifecycle import Lifecycle
    from storage.models import Case

    today = runtime.clock.today()
    with runtime.database.session() as session:
        repo = CaseRepository(session)
        calendar = Lifecycle(runtime).calendar(repo)
        days: list[date] = []
        day = today
        while len(days) < working_days and (today - day).days < working_days * 3:
            if calendar.is_working(day):
                days.append(day)
            day -= timedelta(days=1)
        days.reverse()
        if not days:
            return []
        start = days[0]
        rows = session.scalars(select(Case).where(
            or_(Case.received_on >= start, Case.closed_on >= start)))
        received: dict[date, int] = {}
        closed: dict[date, int] = {}
        for case in rows:
            if not may_open(principal, case):
                continue
            received[case.received_on] = received.get(case.received_on, 0) + 1
            if case.closed_on is not None:
                closed[case.closed_on] = closed.get(case.closed_on, 0) + 1
    return [DayFlow(d, received.get(d, 0), closed.get(d, 0)) for d in days]


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    value: int


@dataclass(frozen=True)
class FlowChart:
    """A bar chart of `daily_flow` laid out for a server-rendered SVG (no chart library)."""

    width: int
    height: int
    top: int
    baseline: float
    maximum: int
    received: tuple[Bar, ...]
    closed: tuple[Bar, ...]
    labels: tuple[tuple[float, str], ...]  # x, day
    ticks: tuple[tuple[float, int], ...]  # y, value


def flow_chart(flow: Sequence[DayFlow], width: int = 640, height: int = 240) -> FlowChart:
    left, right, top, bottom = 32, 8, 12, 36
    plot_w, plot_h = width - left - right, height - top - bottom
    maximum = max([1, *(d.received for d in flow), *(d.closed for d in flow)])
    slot = plot_w / max(len(flow), 1)
    bar = max(slot * 0.36, 2.0)
    baseline = top + plot_h

    def bars(values: Sequence[int], offset: float) -> tuple[Bar, ...]:
        out = []
        for i, value in enumerate(values):
            h = plot_h * value / maximum
            out.append(Bar(left + slot * i + offset, baseline - h, bar, h, value))
        return tuple(out)

    step = max(1, -(-maximum // 4))
    return FlowChart(
        width, height, top, baseline, maximum,
        bars([d.received for d in flow], slot * 0.12),
        bars([d.closed for d in flow], slot * 0.12 + bar),
        tuple((left + slot * i + slot / 2, d.day.strftime("%m-%d")) for i, d in enumerate(flow)),
        tuple((baseline - plot_h * v / maximum, v) for v in range(0, maximum + 1, step)))


CERTIFICATE_STATUS: Final = {"valid": "有效", "expired": "已过期", "revoked": "已撤销"}


def stored_from_case(runtime: Runtime, case_id: str, principal: Principal
                     ) -> dict[tuple[int, ...], str]:
    """Certificates the store holds from this case's materials, by the pages they came
    from, in words (who verified it), for the workbench to show a material as stored."""
    from sqlalchemy import select

    from storage.models import Certificate

    with runtime.database.session() as session:
        case_for(session, principal, case_id)
        rows = session.scalars(select(Certificate).where(
            Certificate.source_case_id == case_id))
        out = {}
        for row in rows:
            who = "自动核验" if row.verification == "auto" else \
                f"{row.verified_by.removeprefix('user:')} 核验"
            out[tuple(int(p) for p in row.source_pages or ())] = \
                f"已入库（{who}，{CERTIFICATE_STATUS.get(row.status, row.status)}）"
        return out

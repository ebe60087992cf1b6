"""Notices as records. Every notice the center hands an applicant — the one-time notice
(一次性告知书 / 补正材料通知书) when a case is returned for supplement, the acceptance notice
(受理通知书) with the applicant's query code, the tolerant-acceptance notice (容缺受理通知书)
with what is outstanding and by when, the refusal notice (不予受理通知书) with the reason and
the applicant's remedies — is composed once, in the transaction of the transition that
issues it (`issue_for_transition`, called from `intake.lifecycle.on_transition`):

1. its content is fixed as JSON (`compose`), from the stored report and the case's clock;
2. it is numbered per center and year (`〔2026〕第000012号`, one atomic counter);
3. it is rendered to PDF once and stored in the object store, with its SHA-256.

Downloads serve those stored bytes, so a notice reads the same forever, whatever changes
later in the case, the catalog or the renderer.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime, time
from typing import Any, Final

from fpdf import FPDF
from fpdf.enums import Align, WrapMode, XPos, YPos

from intake.access import OPERATOR, Principal, case_for
from intake.fonts import cjk_font
from intake.notification import chinese_part, cn_date
from intake.runtime import Runtime
from rules.catalog import Item
from storage.models import Case, CaseEvent, Notice
from storage.notices import NoticeRegistry

NOTICE_FOR_ACTION: Final = {
    "return": "one_time",
    "accept": "acceptance",
    "accept_tolerant": "tolerant",
    "refuse": "refusal",
}
TITLES: Final = {
    "one_time": "一次性告知书",
    "acceptance": "受理通知书",
    "tolerant": "容缺受理通知书",
    "refusal": "不予受理通知书",
}
SUBTITLES: Final = {"one_time": "（补正材料通知书）"}
LEGAL_BASIS: Final = {
    "one_time": "《中华人民共和国行政许可法》第三十二条第一款第（四）项",
    "acceptance": "《中华人民共和国行政许可法》第三十二条第一款第（五）项",
    "tolerant": "《中华人民共和国行政许可法》第三十二条；本中心容缺受理制度",
    "refusal": "《中华人民共和国行政许可法》第三十二条第一款第（一）、（二）项",
}
REMEDIES: Final = (
    "申请人如对本决定不服，可以自收到本通知书之日起六十日内依法申请行政复议，"
    "或者自收到本通知书之日起六个月内依法向人民法院提起行政诉讼。"
)
TO_BRING: Final = ("missing", "invalid")


def notice_label(year: int, number: int) -> str:
    return f"〔{year}〕第{number:06d}号"


def _cn_date(day: date | str | None) -> str:
    """A date of the notice's JSON content (ISO text) as printed; "—" when absent."""
    if day is None:
        return "—"
    return cn_date(date.fromisoformat(day) if isinstance(day, str) else day)


def _slot_reasons(slot: Mapping[str, Any]) -> list[str]:
    if slot.get("state") == "missing":
        return ["未提交该材料"]
    reasons: list[str] = []
    for finding in slot.get("findings", []):
        text = chinese_part(str(finding.get("message", "")).strip())
        if text and text not in reasons:
            reasons.append(text)
    return reasons or ["材料不符合要求"]


def compose(kind: str, *, case: Case, item: Item, center_name: str, issued_on: date,
            report: Mapping[str, Any] | None, deadlines: Mapping[str, Any],
            reason: str | None = None, outstanding: Sequence[Mapping[str, Any]] = (),
            supplement_due: date | None = None, query_code: str | None = None
            ) -> dict[str, Any]:
    """The notice's content, fixed at issue: everything the PDF prints, as JSON."""
    content: dict[str, Any] = {
        "kind": kind, "title": TITLES[kind], "center_name": center_name,
        "case_number": case.number, "item_code": item.code, "item_name": item.name,
        "agency": item.agency, "received_on": case.received_on.isoformat(),
        "issued_on": issued_on.isoformat(), "legal_basis": LEGAL_BASIS[kind],
        "item_legal_basis": list(item.legal_basis), "handling_place": item.handling_place,
        "phone": item.consultation_phone,
    }
    if kind == "one_time":
        slots = (report or {}).get("slots", [])
        content["to_bring"] = [
            {"slot": s.get("code"), "name": s.get("name"), "state": s.get("state"),
             "reasons": _slot_reasons(s), "pages": s.get("pages", []),
             "commitment_allowed": bool(s.get("commitment_allowed"))}
            for s in slots if s.get("state") in TO_BRING]
        content["supplement_due"] = supplement_due.isoformat() if supplement_due else None
    elif kind in ("acceptance", "tolerant"):
        content["accepted_on"] = issued_on.isoformat()
        content["committed_due"] = deadlines.get("committed_due")
        content["legal_due"] = deadlines.get("legal_due")
        content["committed_days"] = item.committed_time_limit_days
        content["legal_days"] = item.legal_time_limit_days
        # The query code is printed on the applicant's notice but kept in the database
        # only as a digest; the content records that one was issued, not what it is.
        content["query_code_issued"] = query_code is not None
        if kind == "tolerant":
            names = {s.code: s.name for s in item.slots}
            content["outstanding"] = [
                {"slot": o.get("slot"), "name": names.get(str(o.get("slot")), o.get("slot")),
                 "due_on": o.get("due_on"), "commitment": o.get("commitment")}
                for o in outstanding]
    elif kind == "refusal":
        content["reason"] = reason or ""
        content["remedies"] = REMEDIES
    return content


# -- rendering ------------------------------------------------------------------------------
FONT = "noto"
MARGIN = 20.0
BODY_PT = 11.5
LINE_MM = 6.6


class _Pdf(FPDF):
    def __init__(self, footer_text: str) -> None:
        super().__init__(orientation="portrait", unit="mm", format="A4")
        self.footer_text = footer_text

    def footer(self) -> None:
        self.set_y(-14)
        self.set_font(FONT, size=8.5)
        self.set_text_color(90, 90, 90)
        self.cell(0, 5, f"{self.footer_text}　第 {self.page_no()} 页 共 {{nb}} 页",
                  align=Align.C)
        self.set_text_color(0, 0, 0)


def render(content: Mapping[str, Any], *, label: str, query_code: str | None = None) -> bytes:
    """The notice as an A4 PDF with the CJK font embedded; a fixed creation date makes
    the same content render to the same bytes."""
    kind = str(content["kind"])
    pdf = _Pdf(f"{content['center_name']}　{content['title']}{label}　"
               f"办件编号 {content['case_number']}")
    regular, bold = cjk_font(False), cjk_font(True)
    pdf.add_font(FONT, style="", fname=str(regular.path), collection_font_number=regular.index)
    pdf.add_font(FONT, style="B", fname=str(bold.path), collection_font_number=bold.index)
    pdf.set_margins(MARGIN, MARGIN, MARGIN)
    pdf.set_auto_page_break(True, margin=22)
    pdf.set_title(f"{content['title']} {label}")
    pdf.set_author(str(content["center_name"]))
    issued_on = date.fromisoformat(str(content["issued_on"]))
    pdf.set_creation_date(datetime.combine(issued_on, time(0, 0), tzinfo=UTC))
    pdf.add_page()

    def para(text: str, *, size: float = BODY_PT, style: str = "", indent: float = 0.0
             ) -> None:
        pdf.set_font(FONT, style=style, size=size)
        pdf.set_x(MARGIN + indent)
        pdf.multi_cell(0, LINE_MM * size / BODY_PT, text, wrapmode=WrapMode.CHAR,
                       new_x=XPos.LMARGIN, new_y=YPos.NEXT)

    pdf.set_font(FONT, size=12)
    pdf.cell(0, 8, str(content["center_name"]), align=Align.C, new_x=XPos.LMARGIN,
             new_y=YPos.NEXT)
    pdf.set_font(FONT, style="B", size=22)
    pdf.cell(0, 13, str(content["title"]), align=Align.C, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    if kind in SUBTITLES:
        pdf.set_font(FONT, size=12)
        pdf.cell(0, 7, SUBTITLES[kind], align=Align.C, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font(FONT, size=11)
    pdf.cell(0, 8, label, align=Align.C, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(2)
    for key, value in (("办件编号", content["case_number"]),
                       ("事项名称", f"{content['item_name']}（事项编码：{content['item_code']}）"),
                       ("实施机关", content["agency"]),
                       ("收件日期", _cn_date(content["received_on"])),
                       ("告知日期", _cn_date(content["issued_on"]))):
        para(f"{key}：{value}")
    pdf.ln(3)
    para("申请人：")
    item_name = content["item_name"]
    if kind == "one_time":
        to_bring = content.get("to_bring", [])
        para(f"您申请办理的“{item_name}”事项，经审查，申请材料不齐全或者不符合法定形式。"
             f"依据{content['legal_basis']}的规定，现将需要补正的全部内容（共 "
             f"{len(to_bring)} 项）一次性告知如下：", indent=8)
        for n, slot in enumerate(to_bring, 1):
            if pdf.get_y() + 3 * LINE_MM > pdf.page_break_trigger:
                pdf.add_page()
            what = "缺少材料" if slot["state"] == "missing" else "需补正"
            para(f"{n}. {slot['name']}（{what}）", style="B")
            for reason in slot["reasons"]:
                para(f"原因：{reason}", indent=7)
            para("需提交：" + (f"重新提交符合要求的{slot['name']}" if slot["state"] == "invalid"
                              else f"{slot['name']}"), indent=7)
            if slot.get("commitment_allowed"):
                para("可提交《告知承诺书》代替该材料。", indent=7)
        due = content.get("supplement_due")
        if due:
            para(f"请于{_cn_date(due)}前一并补正上述全部材料。补正材料齐全后，本中心将依法受理。",
                 indent=8)
    elif kind in ("acceptance", "tolerant"):
        para(f"您申请办理的“{item_name}”事项，申请材料齐全、符合法定形式"
             + ("（部分次要材料容缺后补）" if kind == "tolerant" else "")
             + f"，依据{content['legal_basis']}的规定，本中心决定予以受理。", indent=8)
        para(f"受理日期：{_cn_date(content['accepted_on'])}")
        para(f"承诺办结时限：{content['committed_days']} 个工作日，"
             f"最迟于{_cn_date(content['committed_due'])}前办结；"
             f"法定办结时限 {content['legal_days']} 个工作日（{_cn_date(content['legal_due'])}）。")
        if kind == "tolerant":
            para("容缺材料（请按承诺时间补交）：", style="B")
            for n, item in enumerate(content.get("outstanding", []), 1):
                para(f"{n}. {item['name']}，补交期限：{_cn_date(item['due_on'])}", indent=7)
                if item.get("commitment"):
                    para(f"申请人承诺：{item['commitment']}", indent=7)
            para("逾期未补交的，将依照有关规定处理。", indent=8)
        if query_code:
            para(f"办理进度查询码：{query_code}", style="B", size=13)
            para("凭办件编号和查询码可在政务服务网、自助终端查询办理进度。请妥善保管，"
                 "查询码不会再次显示。", size=10)
    elif kind == "refusal":
        para(f"您申请办理的“{item_name}”事项，经审查，依据{content['legal_basis']}的规定，"
             "决定不予受理。", indent=8)
        para(f"理由：{content.get('reason', '')}", style="B")
        para(str(content.get("remedies", "")), indent=8)
    pdf.ln(3)
    para("办理须知", style="B", size=12.5)
    if content.get("item_legal_basis"):
        para(f"设定依据：{'；'.join(content['item_legal_basis'])}")
    para(f"办理窗口：{content['handling_place']}")
    para(f"咨询电话：{content['phone']}")
    if pdf.get_y() + 40 > pdf.h - 22:
        pdf.add_page()
    pdf.ln(8)
    half = (pdf.w - 2 * MARGIN) / 2
    pdf.set_font(FONT, size=BODY_PT)
    pdf.cell(half, 9, "经办人：____________")
    pdf.cell(half, 9, "申请人签收：____________", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.cell(half, 9, f"日期：{_cn_date(content['issued_on'])}")
    pdf.cell(half, 9, "日期：______年____月____日", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(4)
    pdf.cell(0, 9, f"（{content['center_name']}盖章）", align=Align.R, new_x=XPos.LMARGIN,
             new_y=YPos.NEXT)
    para("本通知书一式两份，申请人与窗口各执一份。", size=9)
    return bytes(pdf.output())


def notice_key(notice_id: str) -> str:
    return f"derived/notices/{notice_id}.pdf"


def issue(runtime: Runtime, session: Any, case: Case, kind: str, content: dict[str, Any], *,
          center: str, issued_at: datetime, issued_on: date, key_id: int | None,
          actor: str, query_code: str | None = None) -> Notice:
    """Number, render, store and record one notice, in the caller's transaction."""
    registry = NoticeRegistry(session)
    year = issued_on.year
    number = registry.next_number(center, year)
    label = notice_label(year, number)
    content = {**content, "number": label}
    pdf = render(content, label=label, query_code=query_code)
    notice_id = str(uuid.uuid4())
    key = notice_key(notice_id)
    runtime.objects.put(key, pdf)  # a rollback leaves an unreferenced object, never a row
    return registry.add(notice_id=notice_id, case_id=case.id, kind=kind, center=center,
                        year=year, number=number, label=label, issued_at=issued_at,
                        issued_by_key=key_id, issued_by=actor, content=content,
                        pdf_key=key, sha256=hashlib.sha256(pdf).hexdigest(), size=len(pdf))


def kind_for(event: CaseEvent) -> str | None:
    return NOTICE_FOR_ACTION.get(event.action)


# -- reading the records --------------------------------------------------------------------
class NoticeService:
    """The issued notices of a case, and a notice's stored PDF."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime

    def of_case(self, case_id: str, *, principal: Principal = OPERATOR
                ) -> list[dict[str, Any]]:
        """The case's notices, masked for the principal's role (intake.masking)."""
        from intake.masking import Masker

        masker = Masker(principal.role, self.runtime.catalog)
        with self.runtime.database.session() as session:
            case_for(session, principal, case_id)
            return [masker.deep(_view(n)) for n in NoticeRegistry(session).of_case(case_id)]

    def pdf(self, notice_id: str, *, principal: Principal = OPERATOR
            ) -> tuple[dict[str, Any], bytes]:
        """The notice and its bytes exactly as issued (checked against the stored SHA-256:
        an object changed behind our back is an error, never served). The notice is the
        applicant's paper, printed in full for whoever may open the case."""
        from intake.errors import IntakeError

        with self.runtime.database.session() as session:
            row = NoticeRegistry(session).get(notice_id)
            if row is None:
                raise IntakeError("notice.not_found", notice_id=notice_id)
            try:
                case_for(session, principal, row.case_id)
            except IntakeError:
                raise IntakeError("notice.not_found", notice_id=notice_id) from None
            view = _view(row)
        data = self.runtime.objects.get(row.pdf_key)
        if hashlib.sha256(data).hexdigest() != view["sha256"]:
            raise IntakeError("notice.damaged", notice_id=notice_id)
        return view, data


def _view(row: Notice) -> dict[str, Any]:
    return {"id": row.id, "case_id": row.case_id, "kind": row.kind,
            "title": TITLES.get(row.kind, row.kind), "number": row.label,
            "issued_at": row.issued_at if row.issued_at.tzinfo else
            row.issued_at.replace(tzinfo=UTC), "issued_by": row.issued_by,
            "sha256": row.sha256, "size": row.size, "content": row.content}

"""Scanned stacks split by cover sheets: every page lands in its case or in the inbox with
its reason, none twice, none lost; and running any stage again changes nothing."""

from __future__ import annotations

import io
from datetime import date

import numpy as np
import pypdfium2 as pdfium
import pytest
from PIL import Image

from intake.access import Principal
from intake.coversheet import cover_payload, parse_cover_code, render_cover_sheet
from intake.errors import IntakeError
from intake.runtime import Runtime
from intake.stack_service import StackService
from intake.stacks import CoverVerdict, ScannedPage, StackPipeline, route_pages, scan_page
from intake.uploads import Upload
from storage.apikeys import create_center
from storage.cases import CaseRepository
from storage.models import DEFAULT_CENTER_ID
from storage.stacks import StackRepository
from tests.intake.stackkit import (
    SCAN_DPI,
    blank_back,
    copied,
    material_page,
    raster,
    scribbled,
    stack_pdf,
    with_qr,
)


class StackRunner:
    """Stacks run inline; the batches they feed are recorded, not OCR'd (what lands in
    which case is decided before OCR)."""

    def __init__(self, runtime: Runtime) -> None:
        self.batches: list[str] = []
        self.pipeline = StackPipeline(runtime, self.submit_batch)

    def submit_batch(self, batch_id: str) -> None:
        self.batches.append(batch_id)

    def submit_stack(self, stack_id: str) -> None:
        self.pipeline.run(stack_id)

    def shutdown(self) -> None:
        pass


# -- routing, pure --------------------------------------------------------------------------

def _verdicts(valid: dict[str, str]) -> object:
    def check(text: str | None, sequence: int) -> CoverVerdict:
        if text is None:
            return CoverVerdict(None, "cover.unreadable", {"cover_page": sequence})
        if text in valid:
            return CoverVerdict(valid[text])
        return CoverVerdict(None, "cover.forged", {"cover_page": sequence})
    return check


def test_pages_follow_the_latest_cover_sheet_and_blanks_never_change_it() -> None:
    kinds = ["page", "blank", "cover:A", "page", "blank", "page", "cover:bad", "page",
             "blank", "cover:B", "blank", "page", "unreadable", "page"]
    pages = [ScannedPage(f"p{n}", n, k.split(":")[0],
                         k.split(":")[1] if ":" in k else None,
                         "page.render_failed" if k == "unreadable" else None)
             for n, k in enumerate(kinds, start=1)]
    routed = {r.page_id: r for r in route_pages(pages, _verdicts({"A": "case-a",
                                                                  "B": "case-b"}))}
    where = [(routed[p.id].state, routed[p.id].case_id, routed[p.id].reason_code)
             for p in pages]
    assert where == [
        ("held", None, "stack.no_cover_sheet"), ("held", None, "stack.no_cover_sheet"),
        ("cover", "case-a", None), ("attaching", "case-a", None),
        ("attaching", "case-a", None), ("attaching", "case-a", None),
        ("cover", None, "cover.forged"), ("held", None, "cover.forged"),
        ("held", None, "cover.forged"),
        ("cover", "case-b", None), ("attaching", "case-b", None),
        ("attaching", "case-b", None), ("held", None, "page.render_failed"),
        ("attaching", "case-b", None)]
    # one segment per cover sheet: the two runs of case B are one batch
    assert {routed[f"p{n}"].segment for n in (11, 12, 14)} == {10}


def test_an_unreadable_cover_sheet_holds_itself_and_what_follows() -> None:
    pages = [ScannedPage("c1", 1, "cover", "A"), ScannedPage("x", 2, "page"),
             ScannedPage("u", 3, "cover", None), ScannedPage("y", 4, "blank"),
             ScannedPage("z", 5, "page")]
    routed = [(r.page_id, r.state, r.case_id, r.reason_code)
              for r in route_pages(pages, _verdicts({"A": "case-a"}))]
    assert routed == [("c1", "cover", "case-a", None), ("x", "attaching", "case-a", None),
                      ("u", "held", None, "cover.unreadable"),
                      ("y", "held", None, "cover.unreadable"),
                      ("z", "held", None, "cover.unreadable")]


def test_a_second_sheet_of_the_same_case_starts_a_new_segment() -> None:
    pages = [ScannedPage("c1", 1, "cover", "A"), ScannedPage("x", 2, "page"),
             ScannedPage("c2", 3, "cover", "A"), ScannedPage("y", 4, "page")]
    routed = {r.page_id: r for r in route_pages(pages, _verdicts({"A": "case-a"}))}
    assert routed["x"].segment == 1 and routed["y"].segment == 3
    assert routed["x"].case_id == routed["y"].case_id == "case-a"


# -- the cover-sheet code ---------------------------------------------------------------------

def test_only_the_secret_makes_a_sheet_for_a_case() -> None:
    payload = cover_payload("SQ20261129-ABC123", "secret-1")
    claim = parse_cover_code(payload)
    assert claim is not None and claim.case_number == "SQ20261129-ABC123"
    assert claim.verify("secret-1") and not claim.verify("secret-2")
    mac = payload.rsplit(":", 1)[1]
    edited = parse_cover_code(f"DOCINTAKE:COVER:1:SQ20261129-ABC124:{mac}")
    assert edited is not None and not edited.verify("secret-1")
    mangled = parse_cover_code("DOCINTAKE:COVER:1:bad number!")
    assert mangled is not None and not mangled.verify("secret-1")
    assert parse_cover_code("https://www.gsxt.gov.cn/verify?code=123") is None


# -- scanning one page ------------------------------------------------------------------------

def _sheet(number: str = "SQ20261129-ABC123", secret: str = "secret") -> np.ndarray:
    return raster(render_cover_sheet(
        case_number=number, item_name="有限责任公司设立登记", item_code="company-establishment",
        checklist=[], secret=secret, center_name="政务服务中心", acceptance_date=date(2026, 1, 5)))


@pytest.mark.parametrize(("turn", "generations", "skew"),
                         [(0, 1, 4.0), (90, 1, 5.0), (180, 2, 3.0), (270, 1, 2.0),
                          (0, 3, 2.0)])
def test_a_photocopied_turned_and_skewed_cover_sheet_is_found(
        turn: int, generations: int, skew: float) -> None:
    sheet = copied(_sheet(), seed=turn + generations, turn=turn, generations=generations,
                   skew_degrees=skew)
    found = scan_page(sheet, SCAN_DPI)
    assert found.kind == "cover"
    assert found.cover_text == cover_payload("SQ20261129-ABC123", "secret")


def test_blank_and_ordinary_pages_are_not_cover_sheets() -> None:
    assert scan_page(blank_back(seed=3), SCAN_DPI).kind == "blank"
    assert scan_page(material_page("A1", seed=4), SCAN_DPI).kind == "page"


def test_a_sheet_whose_codes_were_scribbled_over_is_a_cover_sheet_that_cannot_be_read() -> None:
    found = scan_page(copied(scribbled(_sheet()), seed=8), SCAN_DPI)
    assert found.kind == "cover" and found.cover_text is None


# -- a whole stack ------------------------------------------------------------------------------

def _case(runtime: Runtime, center_id: int = DEFAULT_CENTER_ID) -> tuple[str, str]:
    with runtime.database.session() as session:
        case = CaseRepository(session).create_case(item_code="company-establishment",
                                                   acceptance_date=date(2026, 1, 5),
                                                   center_id=center_id)
        return case.id, case.number


def _render(pdf: bytes, index: int) -> np.ndarray:
    doc = pdfium.PdfDocument(pdf)
    try:
        return np.asarray(doc[index].render(scale=SCAN_DPI / 72).to_pil().convert("L")).copy()
    finally:
        doc.close()


def test_a_stack_lands_page_by_page_in_its_cases_or_the_inbox(runtime: Runtime) -> None:
    secret = runtime.settings.cover_sheet_secret.get_secret_value()
    runner = StackRunner(runtime)
    service = StackService(runtime, runner)
    (a, a_no), (b, b_no), (c, _) = _case(runtime), _case(runtime), _case(runtime)
    with runtime.database.session() as session:  # case C was closed meanwhile
        case_c = CaseRepository(session).get_case(c)
        assert case_c is not None
        case_c.state = "closed"

    def sheet(case_id: str) -> np.ndarray:
        return raster(service.cover_sheet_pdf(case_id)[1])

    a_mac = cover_payload(a_no, secret).rsplit(":", 1)[1]
    # (page image, where it must land: case id, or the inbox reason code; None: a cover)
    plan: list[tuple[np.ndarray, str | None]] = [
        (material_page("L1", 1), "stack.no_cover_sheet"),
        (material_page("L2", 2), "stack.no_cover_sheet"),
        (copied(sheet(a), seed=1, turn=180), None),
        (blank_back(seed=11), a),  # the cover sheet's own blank back
        (material_page("A1", 3), a),
        (material_page("A2", 4), a),
        (blank_back(seed=12), a),
        (copied(sheet(b), seed=2, turn=90, generations=2, skew_degrees=3.0), None),
        (material_page("B1", 5), b),
        (blank_back(seed=13), b),
        (material_page("B2", 6), b),
        # A's sheet copied and its number edited to B's: A's MAC no longer fits
        (copied(with_qr(sheet(a), f"DOCINTAKE:COVER:1:{b_no}:{a_mac}"), seed=3), None),
        (material_page("F1", 7), "cover.forged"),
        (blank_back(seed=14), "cover.forged"),
        (material_page("F2", 8), "cover.forged"),
        # a sheet invented for case A without the secret
        (copied(_sheet(a_no, secret="guessed"), seed=4, turn=270), None),
        (material_page("G1", 9), "cover.forged"),
        (copied(sheet(c), seed=5), None),
        (material_page("C1", 10), "cover.case_closed"),
        (copied(_sheet("SQ20260101-FFFFFF", secret=secret), seed=6), None),
        (material_page("U1", 11), "cover.unknown_case"),
        (copied(sheet(a), seed=7, skew_degrees=5.0), None),
        (material_page("A3", 12), a),
    ]
    first, second = stack_pdf([p for p, _ in plan[:9]]), stack_pdf([p for p, _ in plan[9:]])
    broken = b"%PDF-1.4 not really a pdf"
    progress = service.upload_stack(
        [Upload.from_bytes("stack-1.pdf", first), Upload.from_bytes("stack-2.pdf", second),
         Upload.from_bytes("jammed.pdf", broken), Upload.from_bytes("empty.pdf", b"")],
        idempotency_key="k1")
    assert progress.status == "completed"
    assert [f.outcome for f in progress.files] == ["accepted", "accepted", "accepted",
                                                   "rejected"]

    with runtime.database.session() as session:
        pages = StackRepository(session).pages_of_stack(progress.id)
        got = [(p.state, p.case_id, p.reason_code, p.batch_id) for p in pages]
    assert len(pages) == len(plan) + 1  # + the file that could not be opened
    for (_, expected), (state, case_id, reason, batch_id) in zip(plan, got, strict=False):
        if expected is None:
            assert state == "cover"
        elif expected.startswith(("stack.", "cover.")):
            assert (state, reason, case_id) == ("held", expected, None)
        else:
            assert (state, case_id) == ("attached", expected) and batch_id is not None
    assert got[-1][:3] == ("held", None, "file.corrupt")

    # The cases got exactly their pages, in stack order, cut out without re-encoding:
    # each renders exactly like its page in the stack.
    by_case: dict[str, list[np.ndarray]] = {a: [], b: []}
    for n, (_, expected) in enumerate(plan):
        if expected in by_case:
            by_case[expected].append(_render(first, n) if n < 9 else _render(second, n - 9))
    assert {c.case_id: c.pages for c in progress.cases} == {a: 5, b: 3}
    assert {c.case_id: len(c.batch_ids) for c in progress.cases} == {a: 2, b: 1}
    with runtime.database.session() as session:
        repo = CaseRepository(session)
        for case_id, images in by_case.items():
            files = repo.files_of_case(case_id)
            assert len(files) == len(images)
            for row, image in zip(files, images, strict=True):
                cut = runtime.objects.get(row.object_key)
                assert np.array_equal(_render(cut, 0), image)
        assert repo.files_of_case(c) == []
    assert len(runner.batches) == 3  # A twice (two sheets), B once
    assert sorted(p.reason_code or "" for p in progress.inbox) == sorted(
        [e for _, e in plan if e and e.startswith(("stack.", "cover."))] + ["file.corrupt"])

    # Running the stack again, or uploading it again with its key, changes nothing.
    runner.pipeline.run(progress.id)
    again = service.upload_stack([Upload.from_bytes("stack-1.pdf", first)],
                                 idempotency_key="k1")
    assert again.id == progress.id
    with runtime.database.session() as session:
        assert [(p.state, p.case_id, p.batch_id) for p in
                StackRepository(session).pages_of_stack(progress.id)] == [
                    (*g[:2], g[3]) for g in got]
        assert sum(len(CaseRepository(session).files_of_case(x)) for x in (a, b)) == 8
    assert len(set(runner.batches)) == 3


def test_stages_run_twice_write_once(runtime: Runtime) -> None:
    runner = StackRunner(runtime)
    pipeline = runner.pipeline
    service = StackService(runtime, type("Later", (), {
        "submit_stack": lambda self, s: None, "submit_batch": runner.submit_batch})())
    a, _ = _case(runtime)
    pdf = stack_pdf([raster(service.cover_sheet_pdf(a)[1]), material_page("A1", 1)])
    stack = service.upload_stack([Upload.from_bytes("s.pdf", pdf)])
    assert stack.status == "received"
    assert pipeline.split(stack.id) and pipeline.split(stack.id)
    page_ids = pipeline.pages_to_scan(stack.id)
    assert len(page_ids) == 2
    assert [pipeline.scan(p) for p in page_ids] == ["cover", "page"]
    assert [pipeline.scan(p) for p in page_ids] == [None, None]
    pipeline.route(stack.id)
    pipeline.route(stack.id)
    first = pipeline.attach(stack.id)
    second = pipeline.attach(stack.id)  # completed: nothing left to attach
    assert len(first) == 1 and second == []
    assert service.stack_progress(stack.id).cases[0].pages == 1


def test_inbox_pages_are_attached_by_hand_once(runtime: Runtime) -> None:
    runner = StackRunner(runtime)
    service = StackService(runtime, runner)
    a, a_no = _case(runtime)
    b, _ = _case(runtime)
    stack = service.upload_stack(
        [Upload.from_bytes("s.pdf", stack_pdf([material_page("L1", 1), material_page("L2", 2)]))])
    total, inbox = service.inbox()
    assert total == 2 and [p.reason_code for p in inbox] == ["stack.no_cover_sheet"] * 2
    assert all("封面页" in (p.reason_message or "") and "cover sheet" in (p.reason_message or "")
               for p in inbox)

    attached = service.attach(inbox[0].id, a)
    assert (attached.state, attached.case_id, attached.case_number) == ("attached", a, a_no)
    assert service.attach(inbox[0].id, a).batch_id == attached.batch_id  # a retry
    with pytest.raises(IntakeError) as refused:
        service.attach(inbox[0].id, b)
    assert refused.value.code == "inbox.page_not_held" and a_no in refused.value.message
    with pytest.raises(IntakeError) as unknown:
        service.attach(inbox[1].id, "no-such-case")
    assert unknown.value.code == "case.not_found"
    assert service.inbox()[0] == 1
    with runtime.database.session() as session:
        assert len(CaseRepository(session).files_of_case(a)) == 1
    assert service.stack_progress(stack.id).cases[0].case_id == a


def test_a_tiff_stack_is_cut_frame_by_frame(runtime: Runtime) -> None:
    runner = StackRunner(runtime)
    service = StackService(runtime, runner)
    a, _ = _case(runtime)
    frames = [Image.fromarray(p) for p in (raster(service.cover_sheet_pdf(a)[1]),
                                           material_page("A1", 1), material_page("A2", 2))]
    buffer = io.BytesIO()
    frames[0].save(buffer, "TIFF", save_all=True, append_images=frames[1:],
                   compression="tiff_lzw", dpi=(SCAN_DPI, SCAN_DPI))
    progress = service.upload_stack([Upload.from_bytes("s.tif", buffer.getvalue())])
    assert [(c.case_id, c.pages) for c in progress.cases] == [(a, 2)]
    with runtime.database.session() as session:
        files = CaseRepository(session).files_of_case(a)
        for row, frame in zip(files, frames[1:], strict=True):
            cut = Image.open(io.BytesIO(runtime.objects.get(row.object_key)))
            assert cut.n_frames == 1 and np.array_equal(np.asarray(cut), np.asarray(frame))


def test_a_stack_never_feeds_or_shows_another_centers_cases(runtime: Runtime) -> None:
    with runtime.database.session() as session:
        other = create_center(session, code="xm-siming", name="思明区政务服务中心").id
    here = Principal(None, "admin here", "admin", center_id=DEFAULT_CENTER_ID)
    there = Principal(None, "admin there", "admin", center_id=other)
    service = StackService(runtime, StackRunner(runtime))
    theirs, _ = _case(runtime, other)
    ours, _ = _case(runtime)
    with pytest.raises(IntakeError) as hidden:
        service.cover_sheet_pdf(theirs, principal=here)
    assert hidden.value.code == "case.not_found"
    # Their (valid) cover sheet scanned at our station: its pages stay in our inbox, told
    # apart from an unknown number by nothing.
    sheet = raster(service.cover_sheet_pdf(theirs, principal=there)[1])
    stack = service.upload_stack(
        [Upload.from_bytes("s.pdf", stack_pdf([sheet, material_page("X", 1)]))],
        principal=here)
    assert stack.cases == []
    assert [p.reason_code for p in stack.inbox] == ["cover.unknown_case"]
    with runtime.database.session() as session:
        assert CaseRepository(session).files_of_case(theirs) == []
    assert service.inbox(principal=there)[0] == 0
    assert service.inbox(principal=here)[0] == 1
    for call in (lambda: service.stack_progress(stack.id, principal=there),
                 lambda: service.attach(stack.inbox[0].id, theirs, principal=there)):
        with pytest.raises(IntakeError) as refused:
            call()
        assert refused.value.code in ("stack.not_found", "inbox.page_not_found")
    with pytest.raises(IntakeError) as crossing:
        service.attach(stack.inbox[0].id, theirs, principal=here)
    assert crossing.value.code == "case.not_found"
    assert service.attach(stack.inbox[0].id, ours, principal=here).case_id == ours

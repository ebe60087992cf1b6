"""The completeness engine: which material slots of an item are satisfied, and how.

`check_completeness` is a pure function of the item, the documents found, the acceptance
date, optional facts and the reusable certificates of the holder. Every slot gets exactly
one state:

* `not_required` — its `required_when` condition is false (the finding says which);
* `present` — a document of an accepted type is assigned and passes every check;
* `reused` — no valid paper, but a valid, unexpired, non-revoked certificate of an
  accepted type whose holder_id is the slot's holder as read from paper (a typed fact is
  a claim and never names the holder). Reuse is preferred over invalid
  paper (the paper's findings stay as evidence) and over paper that passes only with
  low-confidence reads (a verified certificate is better evidence);
* `committed` — the slot allows 告知承诺 and a commitment letter names its material (by
  slot name, `commitment_names`, or the names of its accepted types). A letter whose
  replaced material cannot be read or named is assigned only when it is the only unused
  letter and exactly one required slot allowing commitment lacks valid paper, and then
  always with `needs_review`;
* `invalid` — a document is assigned but fails a check; `missing` otherwise.

Document assignment: a document fills at most one slot. Slots are processed in dependency
order (a slot that reads the application form comes after it); within one level, slots
with a `match` rule take their matching documents first, then remaining documents of an
accepted type go to the remaining slots (where the relational checks then fail, which is
what the applicant needs to hear: "this ID card is not the legal representative's").

Certainty: a check decided by a field read with OCR confidence below `LOW_CONFIDENCE`
gives a finding with `needs_review=True`; so does a check that cannot be evaluated
(unreadable date, form value missing). A slot whose only failed checks were decided on
such low-confidence reads (a mismatch, a check digit, an end date) stays `present`
with `needs_review`: it is never `invalid` and never lets the case be `complete`.
The case is `incomplete` when a required slot is
missing or invalid with a confident finding, `needs_review` when anything else is
uncertain, and `complete` only when every slot is satisfied with confident evidence.
Time checks use the acceptance date, never the clock.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any

from rules.catalog import (
    COMMITMENT_TYPE,
    Catalog,
    Check,
    EqualsCheck,
    Item,
    MaterialType,
    MinPagesCheck,
    NotEndedCheck,
    NotExpiredCheck,
    PresentCheck,
    SidesCheck,
    Slot,
    ValidFieldCheck,
    slot_refs,
)
from rules.conditions import FACTS, RefValue, evaluate, explain_false, split_ref
from rules.normalize import compact, is_empty_value, same_text, strip_marks
from rules.types import (
    CompletenessReport,
    Document,
    ExtractedField,
    Finding,
    PageClassification,
    ReportStatus,
    ReusableCertificate,
    SlotResult,
    SlotState,
)

LOW_CONFIDENCE = 0.80
"""OCR confidence below which a value cannot decide a check on its own."""

SIDE_NAMES = {"front": "人像面（正面）", "back": "国徽面（反面）"}


@dataclass
class _Outcome:
    """Findings of running a slot's checks on one document."""

    findings: list[Finding] = field(default_factory=list)
    failures: list[Finding] = field(default_factory=list)  # subset that are failed checks

    @property
    def failed(self) -> bool:
        return bool(self.failures)

    @property
    def confident_failure(self) -> bool:
        return any(not f.needs_review for f in self.failures)

    @property
    def review(self) -> bool:
        return any(f.needs_review for f in self.findings)

    @property
    def only_uncertain_reads(self) -> bool:
        """Every failed check was decided on a value read below `LOW_CONFIDENCE` (a
        mismatch, a check digit or a date): a person must look, the document is not
        shown to be wrong."""
        return bool(self.failures) and all(
            f.needs_review and _decided_on_a_read(f.code) for f in self.failures)

    def add(self, finding: Finding, failed: bool = False) -> None:
        self.findings.append(finding)
        if failed:
            self.failures.append(finding)


_READ_DECIDED = ("mismatch", "expired", "ended")


def _decided_on_a_read(code: str) -> bool:
    return code in _READ_DECIDED or code.endswith((".check_digit", ".birth_date"))


def _field_evidence(doc: Document, name: str, ef: ExtractedField | None) -> dict[str, Any]:
    ev: dict[str, Any] = {"document": doc.id, "field": name}
    if ef is not None:
        ev.update({"value": ef.value, "page": ef.page, "confidence": round(ef.confidence, 4)})
        if ef.box:
            ev["box"] = [round(v, 1) for v in ef.box]
        if ef.open_ended:
            ev["open_ended"] = True
    return ev


class _Case:
    """State of one evaluation: assignments so far and reference resolution."""

    def __init__(self, item: Item, catalog: Catalog, acceptance_date: date,
                 facts: Mapping[str, object]) -> None:
        self.item = item
        self.catalog = catalog
        self.day = acceptance_date
        self.facts = facts
        self.assigned: dict[str, Document] = {}
        self.slots = {s.code: s for s in item.slots}

    # -- references ------------------------------------------------------------------------
    def resolve(self, ref: str, *, evidence_only: bool = False) -> RefValue:
        """The value a reference names. Typed facts are claims: they may decide whether a
        slot is required (conditions), but with `evidence_only` (checks, matching, the
        holder of a reusable certificate) only what was read from paper counts, so a
        typed fact never satisfies a slot or selects a holder on its own."""
        if ref in self.facts and not evidence_only:
            return RefValue(self.facts[ref], 1.0, True)
        head, tail = split_ref(ref)
        if head == FACTS and evidence_only:
            return RefValue(None, 1.0, known=False)
        if head == FACTS:
            if tail in self.facts:
                return RefValue(self.facts[tail], 1.0, True)
            return RefValue(None, 1.0, known=False)
        doc = self.assigned.get(head)
        if doc is None:
            return RefValue(None, 1.0, known=False)
        ef = doc.fields.get(tail)
        if ef is None:
            return RefValue(None, 1.0, True)
        return RefValue(ef.value, ef.confidence, True)

    def ref_field(self, ref: str) -> tuple[Document | None, ExtractedField | None]:
        head, tail = split_ref(ref)
        doc = self.assigned.get(head)
        return doc, (doc.fields.get(tail) if doc else None)

    def describe(self, ref: str) -> tuple[str, str]:
        head, tail = split_ref(ref)
        if head == FACTS:
            return "", tail
        slot = self.slots.get(head)
        owner = _short_slot_name(slot, self.catalog) if slot else head
        label = tail
        if slot:
            for t in slot.accepts:
                fdef = self.catalog.material_types[t].field(tail)
                if fdef:
                    label = fdef.label
                    break
        return owner, label

    def ref_text(self, ref: str) -> str:
        owner, label = self.describe(ref)
        return f"{owner}的{label}" if owner else label


def _short_slot_name(slot: Slot, catalog: Catalog) -> str:
    # "申请书" reads better in messages than "公司登记（备案）申请书".
    if len(slot.accepts) == 1:
        return catalog.material_types[slot.accepts[0]].name
    return slot.name


def _field_label(mt: MaterialType, name: str) -> str:
    fdef = mt.field(name)
    return fdef.label if fdef else name


def _date(ef: ExtractedField | None) -> date | None:
    if ef is None or ef.value is None:
        return None
    try:
        return date.fromisoformat(ef.value)
    except ValueError:
        return None


def _low(*fields: ExtractedField | None) -> bool:
    return any(f is not None and f.confidence < LOW_CONFIDENCE for f in fields)


def _side_missing(mt: MaterialType, doc: Document, name: str) -> bool:
    """The field lives on a side of the material that was not seen (the sides check
    already reports that, so the field's own checks stay quiet)."""
    fdef = mt.field(name)
    return bool(fdef and fdef.side and mt.sides and fdef.side not in doc.sides)


def _run_checks(case: _Case, slot: Slot | None, doc: Document) -> _Outcome:
    mt = case.catalog.material_types[doc.material_type]
    out = _Outcome()
    checks: list[Check] = list(mt.checks)
    if slot is not None:
        checks += [c for c in slot.checks if c.when_type in (None, doc.material_type)]
    for check in checks:
        _run_check(case, mt, doc, check, out)
    for fdef in mt.fields:
        if not fdef.required or _side_missing(mt, doc, fdef.name):
            continue
        ef = doc.fields.get(fdef.name)
        if ef is None or (ef.value is None and not ef.open_ended and not ef.raw):
            out.add(Finding("unreadable", f"未能识别{mt.name}的{fdef.label}，请人工核对",
                            fdef.name, {"document": doc.id, "pages": list(doc.pages)},
                            needs_review=True))
    if doc.needs_review:
        out.add(Finding("classification_uncertain",
                        f"第{_pages(doc.pages)}页识别为{mt.name}的把握不大，请人工核对",
                        None, {"document": doc.id, "pages": list(doc.pages),
                               "confidence": doc.confidence}, needs_review=True))
    return out


def _run_check(case: _Case, mt: MaterialType, doc: Document, check: Check,
               out: _Outcome) -> None:
    what = mt.name
    if isinstance(check, SidesCheck):
        missing = [s for s in check.required if s not in doc.sides]
        if missing:
            names = "、".join(SIDE_NAMES.get(s, s) for s in missing)
            out.add(Finding("missing_side", f"{what}缺少{names}",
                            None, {"document": doc.id, "pages": list(doc.pages),
                                   "sides": list(doc.sides), "missing": missing},
                            needs_review=doc.needs_review), failed=True)
        return
    if isinstance(check, MinPagesCheck):
        if len(doc.pages) < check.count:
            out.add(Finding("too_few_pages", f"{what}应至少{check.count}页，只有{len(doc.pages)}页",
                            None, {"document": doc.id, "pages": list(doc.pages)}), failed=True)
        return
    name = check.field
    if _side_missing(mt, doc, name):
        return
    ef = doc.fields.get(name)
    label = _field_label(mt, name)
    ev = _field_evidence(doc, name, ef)
    if isinstance(check, ValidFieldCheck):
        if ef is not None and ef.valid is False:
            shown = ef.value or ef.raw
            out.add(Finding(f"{name}.{ef.problem_code or 'invalid'}",
                            f"{what}的{label}{ef.problem or '无效'}（识别为“{shown}”）",
                            name, ev, needs_review=_low(ef)), failed=True)
        elif ef is not None and ef.valid and _low(ef):
            out.add(Finding("low_confidence", f"{what}的{label}识别置信度低，请人工核对",
                            name, ev, needs_review=True))
        return
    if isinstance(check, PresentCheck):
        if ef is None or (ef.value is None and not ef.open_ended):
            deliberate = ef is not None and is_empty_value(ef.raw) and bool(ef.raw)
            msg = f"{what}未填写{label}" if deliberate else f"未能识别到{what}的{label}"
            out.add(Finding("field_missing", msg, name, ev, needs_review=not deliberate),
                    failed=True)
        return
    if isinstance(check, (NotExpiredCheck, NotEndedCheck)):
        expired = isinstance(check, NotExpiredCheck)
        if ef is not None and ef.open_ended:
            if _low(ef):
                out.add(Finding("low_confidence",
                                f"{what}的{label}（长期）识别置信度低，请人工核对",
                                name, ev, needs_review=True))
            return
        d = _date(ef)
        if d is None:
            out.add(Finding("unverifiable", f"未能识别{what}的{label}，无法判断是否在有效期内",
                            name, ev, needs_review=True))
            return
        ev["acceptance_date"] = case.day.isoformat()
        if d < case.day:
            verb = "已过期" if expired else "已届满"
            out.add(Finding("expired" if expired else "ended",
                            f"{what}{verb}：{label}为{d.isoformat()}，早于受理日期{case.day.isoformat()}",
                            name, ev, needs_review=_low(ef)), failed=True)
        elif _low(ef):
            out.add(Finding("low_confidence", f"{what}的{label}识别置信度低，请人工核对",
                            name, ev, needs_review=True))
        return
    if isinstance(check, EqualsCheck):
        if check.other is not None:
            other_doc, other_ef = case.ref_field(check.other)
            rv = case.resolve(check.other, evidence_only=True)
            other_value, other_name = rv.value, case.ref_text(check.other)
            ev["other"] = check.other
            if other_ef is not None and other_doc is not None:
                ev["other_evidence"] = _field_evidence(other_doc, split_ref(check.other)[1],
                                                       other_ef)
        else:
            other_value, other_name, other_ef = check.value, f"“{check.value}”", None
            other_doc = None
        mine = ef.value if ef else None
        if mine is None or other_value is None or is_empty_value(str(other_value)):
            unread = f"{what}的{label}" if mine is None else other_name
            out.add(Finding("unverifiable",
                            f"未能识别{unread}，无法核对{what}的{label}与{other_name}是否一致",
                            name, ev, needs_review=True))
            return
        if not same_text(str(mine), str(other_value)):
            fdef = mt.field(name)
            # One character apart in a person's name: far more often a misread character
            # than another person (whose ID number would differ too).
            near = (fdef is not None and fdef.kind == "person_name"
                    and _one_edit_apart(str(mine), str(other_value))
                    and not _other_id_differs(mt, doc, other_doc))
            if near:
                ev["near_miss"] = True
            out.add(Finding("mismatch",
                            f"{what}的{label}（{mine}）与{other_name}（{other_value}）不一致",
                            name, ev, needs_review=_low(ef, other_ef) or near), failed=True)
        elif _low(ef, other_ef):
            out.add(Finding("low_confidence",
                            f"{what}的{label}与{other_name}一致，但识别置信度低，请人工核对",
                            name, ev, needs_review=True))
        return


def _other_id_differs(mt: MaterialType, doc: Document, other: Document | None) -> bool:
    """Whether the two documents carry an ID number under the same field name that
    differs (a power of attorney's agent_id_number against the form's): then a name one
    character off is another person after all."""
    if other is None:
        return False
    for f in mt.fields:
        if f.kind not in ("id_number", "id_or_credit_code"):
            continue
        a, b = doc.fields.get(f.name), other.fields.get(f.name)
        if (a is not None and b is not None and a.value and b.value and a.valid and b.valid
                and not same_text(a.value, b.value)):
            return True
    return False


def _one_edit_apart(a: str, b: str) -> bool:
    """Whether two names differ by one substituted, added or dropped character (check
    marks, dots and spacing already ignored)."""
    a, b = (re.sub(r"[\s·•.．]", "", strip_marks(compact(x))) for x in (a, b))
    if abs(len(a) - len(b)) > 1 or min(len(a), len(b)) < 2 or a == b:
        return False
    if len(a) == len(b):
        return sum(x != y for x, y in zip(a, b, strict=True)) == 1
    short, long_ = sorted((a, b), key=len)
    return any(long_[:k] + long_[k + 1 :] == short for k in range(len(long_)))


def _match_score(case: _Case, slot: Slot, doc: Document) -> int:
    score = 0
    for rule in slot.match:
        mine = doc.field_value(rule.field)
        other = case.resolve(rule.equals, evidence_only=True).value
        if mine is not None and other is not None and same_text(str(mine), str(other)):
            score += 1
    return score


def _levels(item: Item) -> list[list[Slot]]:
    level: dict[str, int] = {}
    by_code = {s.code: s for s in item.slots}

    def depth(code: str, seen: frozenset[str] = frozenset()) -> int:
        if code in level:
            return level[code]
        deps = {split_ref(r)[0] for r in slot_refs(by_code[code])} - {FACTS, code}
        deps = {d for d in deps if d in by_code and d not in seen}
        level[code] = 1 + max((depth(d, seen | {code}) for d in deps), default=-1)
        return level[code]

    for s in item.slots:
        depth(s.code)
    out: list[list[Slot]] = [[] for _ in range(max(level.values(), default=0) + 1)]
    for s in item.slots:
        out[level[s.code]].append(s)
    return out


def _commit_names(slot: Slot, catalog: Catalog) -> list[str]:
    names = [slot.name, *slot.commitment_names]
    for t in slot.accepts:
        names += catalog.material_types[t].names
    return [_plain(n) for n in names if n]


def _plain(text: str) -> str:
    return compact(text).strip("《》“”\"'()（）:：,，。.;；")


def _letter_names(letter: Document, names: Iterable[str]) -> bool | None:
    """True if the letter's `replaces` names one of `names`; None if it names nothing
    readable."""
    raw = letter.field_value("replaces")
    if raw is None or not _plain(raw):
        return None
    text = _plain(raw)
    return any(n and (n in text or (len(text) >= 4 and text in n)) for n in names)


@dataclass
class _SlotWork:
    slot: Slot
    required: bool = True
    reason: Finding | None = None  # why not required, or why undecidable
    cond_findings: list[Finding] = field(default_factory=list)
    doc: Document | None = None
    outcome: _Outcome | None = None


def check_completeness(
    item: Item,
    documents: Sequence[Document],
    acceptance_date: date,
    *,
    catalog: Catalog,
    facts: Mapping[str, object] | None = None,
    certificates: Sequence[ReusableCertificate] = (),
    classifications: Sequence[PageClassification] = (),
) -> CompletenessReport:
    """Evaluate a case of `item` on `acceptance_date`; see the module docstring."""
    case = _Case(item, catalog, acceptance_date, facts or {})
    used: set[str] = set()
    work: dict[str, _SlotWork] = {}
    docs = sorted(documents, key=lambda d: (d.pages[0] if d.pages else 0, d.id))

    for level in _levels(item):
        for slot in level:
            work[slot.code] = _decide_required(case, slot)
        # Match rules first: the legal representative's card before anyone else's.
        pairs: list[tuple[int, int, int, Document, Slot]] = []
        for order, slot in enumerate(level):
            w = work[slot.code]
            if not w.required or not slot.match:
                continue
            for doc in docs:
                if doc.material_type in slot.accepts:
                    score = _match_score(case, slot, doc)
                    if score:
                        fails = len(_run_checks(case, slot, doc).failures)
                        pairs.append((-score, fails, order, doc, slot))
        for _, _, _, doc, slot in sorted(pairs, key=lambda p: p[:3]):
            w = work[slot.code]
            if w.doc is None and doc.id not in used:
                _assign(case, w, doc, used)
        for slot in level:
            w = work[slot.code]
            if not w.required or w.doc is not None:
                continue
            cands = [d for d in docs if d.id not in used and d.material_type in slot.accepts]
            if not cands:
                continue
            ranked = sorted(
                cands,
                key=lambda d: (
                    _run_checks(case, slot, d).confident_failure,
                    _run_checks(case, slot, d).failed,
                    d.needs_review,
                    d.pages[0] if d.pages else 0,
                ),
            )
            _assign(case, w, ranked[0], used)

    results: dict[str, SlotResult] = {}
    confident_bad: set[str] = set()
    # Slots with valid paper are settled first so commitment letters go where needed.
    for slot in item.slots:
        w = work[slot.code]
        res, bad = _settle(case, w, certificates, docs, used, allow_commit=False)
        if res is not None:
            results[slot.code] = res
            if bad:
                confident_bad.add(slot.code)
    pending = [s for s in item.slots if s.code not in results]
    for slot in pending:
        res, bad = _settle(case, work[slot.code], certificates, docs, used, allow_commit=True,
                           pending=pending)
        assert res is not None
        results[slot.code] = res
        if bad:
            confident_bad.add(slot.code)
    slot_results = tuple(results[s.code] for s in item.slots)

    # Case-level findings: documents nobody needed, and pages nobody could classify.
    case_findings: list[Finding] = []
    surplus = [d for d in docs if d.id not in used]
    unassigned: set[int] = {p for d in surplus for p in d.pages}
    if surplus:
        names = "、".join(
            f"{_type_name(catalog, d.material_type)}（第{_pages(d.pages)}页）"
            for d in surplus)
        case_findings.append(Finding(
            "surplus_documents", f"以下材料不属于本事项所需材料或重复提交：{names}", None,
            {"documents": [d.id for d in surplus]}))
    in_docs = {p for d in docs for p in d.pages}
    unknown = sorted(c.page for c in classifications
                     if c.material_type == "unknown" and c.page not in in_docs)
    if unknown:
        unassigned |= set(unknown)
        case_findings.append(Finding(
            "unclassified_pages",
            f"第{_pages(unknown)}页未能识别材料类型，请人工核对", None,
            {"pages": unknown}, needs_review=True))

    status = _status(slot_results, confident_bad, case_findings)
    return CompletenessReport(
        item=item.code,
        item_name=item.name,
        acceptance_date=acceptance_date,
        status=status,
        slots=slot_results,
        documents=tuple(docs),
        unassigned_pages=tuple(sorted(unassigned)),
        findings=tuple(case_findings),
    )


def _pages(pages: Iterable[int]) -> str:
    return "、".join(str(p) for p in pages)


def _type_name(catalog: Catalog, code: str) -> str:
    mt = catalog.material_types.get(code)
    return mt.name if mt else code


def _assign(case: _Case, w: _SlotWork, doc: Document, used: set[str]) -> None:
    w.doc = doc
    used.add(doc.id)
    case.assigned[w.slot.code] = doc


def _decide_required(case: _Case, slot: Slot) -> _SlotWork:
    w = _SlotWork(slot)
    if not slot.required:
        w.required = False
        w.reason = Finding("optional", f"{slot.name}为可选材料")
        return w
    cond = slot.required_when
    if cond is None:
        return w
    outcome = evaluate(cond, case.resolve)
    low = [r for r in outcome.refs_read if case.resolve(r).confidence < LOW_CONFIDENCE]
    evidence: dict[str, Any] = {"condition": cond.model_dump(mode="json", by_alias=True,
                                                             exclude_none=True)}
    if outcome.result is None:
        # The form itself is missing: whether this slot is needed is unknown; the form's
        # own slot already makes the case incomplete.
        w.required = False
        w.reason = Finding("condition_unknown",
                           f"无法判断是否需要{slot.name}（所依据的材料未提交或未识别）",
                           None, evidence, needs_review=True)
        return w
    if low:
        w.cond_findings.append(Finding(
            "low_confidence",
            f"判断是否需要{slot.name}所依据的"
            f"{'、'.join(case.ref_text(r) for r in low)}识别置信度低，请人工核对",
            None, evidence, needs_review=True))
    if not outcome.result:
        w.required = False
        w.reason = Finding("not_required", explain_false(cond, case.describe), None, evidence,
                           needs_review=bool(low))
    return w


def _try_reuse(case: _Case, slot: Slot, certificates: Sequence[ReusableCertificate]
               ) -> tuple[ReusableCertificate | None, list[Finding], bool]:
    """A usable certificate, notes on unusable ones, and whether the holder was read with
    low confidence."""
    if not slot.reusable or slot.holder is None or not certificates:
        return None, [], False
    rv = case.resolve(slot.holder, evidence_only=True)
    if rv.value is None or is_empty_value(str(rv.value)):
        return None, [], False
    notes: list[Finding] = []
    for cert in certificates:
        if cert.material_type not in slot.accepts or not same_text(cert.holder_id, str(rv.value)):
            continue
        ev = {"certificate": cert.id, "number": cert.number, "holder_id": cert.holder_id,
              "status": cert.status,
              "valid_until": cert.valid_until.isoformat() if cert.valid_until else None}
        name = _type_name(case.catalog, cert.material_type)
        if cert.status != "valid":
            word = {"revoked": "已注销/吊销", "expired": "已过期"}.get(cert.status, cert.status)
            notes.append(Finding("certificate_unusable",
                                 f"证照库中的{name}（{cert.number}）{word}，不能复用", None, ev))
            continue
        if cert.valid_until is not None and cert.valid_until < case.day:
            notes.append(Finding("certificate_unusable",
                                 f"证照库中的{name}（{cert.number}）已于{cert.valid_until.isoformat()}到期，不能复用",
                                 None, ev))
            continue
        return cert, notes, rv.confidence < LOW_CONFIDENCE
    return None, notes, False


def _settle(case: _Case, w: _SlotWork, certificates: Sequence[ReusableCertificate],
            docs: Sequence[Document], used: set[str], *, allow_commit: bool,
            pending: Sequence[Slot] = ()) -> tuple[SlotResult | None, bool]:
    """The slot's final state; returns (None, False) when it needs a commitment letter
    and `allow_commit` is False (it is settled in the second pass)."""
    slot = w.slot
    base = {"code": slot.code, "name": slot.name, "commitment_allowed": slot.commitment_allowed}
    if not w.required:
        assert w.reason is not None
        finding = w.reason
        return SlotResult(state=SlotState.NOT_REQUIRED, required=False,
                          findings=(finding, *w.cond_findings),
                          needs_review=finding.needs_review or any(
                              f.needs_review for f in w.cond_findings),
                          **base), False  # type: ignore[arg-type]
    outcome = _run_checks(case, slot, w.doc) if w.doc is not None else None
    w.outcome = outcome
    pre = list(w.cond_findings)
    if w.doc is not None and outcome is not None and not outcome.failed and not outcome.review:
        return SlotResult(state=SlotState.PRESENT, required=True, documents=(w.doc.id,),
                          findings=tuple(pre), needs_review=any(f.needs_review for f in pre),
                          **base), False  # type: ignore[arg-type]
    cert, notes, holder_low = _try_reuse(case, slot, certificates)
    if cert is not None:
        paper = [_as_evidence(f) for f in (outcome.findings if outcome else [])]
        until = (f"有效期至{cert.valid_until.isoformat()}" if cert.valid_until else "长期有效")
        reuse_msg = (f"复用证照库中的{_type_name(case.catalog, cert.material_type)}"
                     f"（{cert.number}，{until}）")
        found = [Finding("reused", reuse_msg, None,
                         {"certificate": cert.id, "holder_id": cert.holder_id,
                          "holder_name": cert.holder_name},
                         needs_review=holder_low), *notes, *paper, *pre]
        return SlotResult(state=SlotState.REUSED, required=True,
                          documents=(w.doc.id,) if w.doc else (), certificate=cert.id,
                          findings=tuple(found), needs_review=any(f.needs_review for f in found),
                          **base), False  # type: ignore[arg-type]
    if w.doc is not None and outcome is not None and (
            not outcome.failed or outcome.only_uncertain_reads):
        # Passes, but something could not be read with confidence; or fails only on
        # values read with low confidence: a reviewer decides, the slot is not invalid.
        found = [*outcome.findings, *notes, *pre]
        return SlotResult(state=SlotState.PRESENT, required=True, documents=(w.doc.id,),
                          findings=tuple(found), needs_review=True,
                          **base), False  # type: ignore[arg-type]
    if slot.commitment_allowed:
        if not allow_commit:
            return None, False
        letter, letter_findings = _find_letter(case, slot, docs, used, pending)
        if letter is not None:
            used.add(letter.id)
            lo = _run_checks(case, None, letter)
            found = [*letter_findings, *lo.findings,
                     *[_as_evidence(f) for f in (outcome.findings if outcome else [])], *notes,
                     *pre]
            if not lo.failed:
                docs_ids = (letter.id,) + ((w.doc.id,) if w.doc else ())
                return SlotResult(state=SlotState.COMMITTED, required=True, documents=docs_ids,
                                  findings=tuple(found),
                                  needs_review=any(f.needs_review for f in found),
                                  **base), False  # type: ignore[arg-type]
            if w.doc is None:
                return SlotResult(state=SlotState.INVALID, required=True, documents=(letter.id,),
                                  findings=tuple(found),
                                  needs_review=any(f.needs_review for f in found),
                                  **base), lo.confident_failure  # type: ignore[arg-type]
            used.discard(letter.id)
    if w.doc is not None and outcome is not None:
        found = [*outcome.findings, *notes, *pre]
        return SlotResult(state=SlotState.INVALID, required=True, documents=(w.doc.id,),
                          findings=tuple(found), needs_review=any(f.needs_review for f in found),
                          **base), outcome.confident_failure  # type: ignore[arg-type]
    accepted = "或".join(_type_name(case.catalog, t) for t in slot.accepts)
    msg = f"未提交{slot.name}" + (f"（{accepted}）" if accepted != slot.name else "")
    if slot.commitment_allowed:
        msg += "，也可提交告知承诺书替代"
    found = [Finding("missing", msg, None, {"accepts": list(slot.accepts)}), *notes, *pre]
    return SlotResult(state=SlotState.MISSING, required=True, findings=tuple(found),
                      needs_review=any(f.needs_review for f in found),
                      **base), True  # type: ignore[arg-type]


def _as_evidence(f: Finding) -> Finding:
    """A paper document's finding kept as evidence after the slot was satisfied otherwise."""
    return replace(f, needs_review=False, evidence={**f.evidence, "superseded": True})


def _find_letter(case: _Case, slot: Slot, docs: Sequence[Document], used: set[str],
                 pending: Sequence[Slot]) -> tuple[Document | None, list[Finding]]:
    letters = [d for d in docs if d.material_type == COMMITMENT_TYPE and d.id not in used]
    names = _commit_names(slot, case.catalog)
    for letter in letters:
        if _letter_names(letter, names):
            return letter, [Finding("committed", f"以告知承诺书替代{slot.name}", None,
                                    {"document": letter.id, "pages": list(letter.pages),
                                     "replaces": letter.field_value("replaces")})]
    # The fallback rule (see the module docstring): one letter naming nothing we know,
    # one slot that could take it.
    if len(letters) != 1:
        return None, []
    letter = letters[0]
    all_slots = [s for s in case.item.slots if s.commitment_allowed]
    if any(_letter_names(letter, _commit_names(s, case.catalog)) for s in all_slots):
        return None, []  # it names another slot's material
    eligible = [s for s in pending if s.commitment_allowed]
    if len(eligible) != 1 or eligible[0].code != slot.code:
        return None, []
    replaces = letter.field_value("replaces")
    return letter, [Finding(
        "commitment_unclear",
        f"告知承诺书未写明或无法识别所替代的材料（识别为“{replaces or ''}”），"
        f"按本事项唯一可承诺的{slot.name}处理，请人工核对",
        None, {"document": letter.id, "replaces": replaces}, needs_review=True)]


def _status(slots: Sequence[SlotResult], confident_bad: set[str],
            case_findings: Sequence[Finding]) -> ReportStatus:
    for s in slots:
        if s.required and s.state == SlotState.MISSING:
            return ReportStatus.INCOMPLETE
        if s.required and s.state == SlotState.INVALID and s.code in confident_bad:
            return ReportStatus.INCOMPLETE
    if any(s.needs_review for s in slots) or any(f.needs_review for f in case_findings):
        return ReportStatus.NEEDS_REVIEW
    if any(s.required and s.state == SlotState.INVALID for s in slots):
        return ReportStatus.NEEDS_REVIEW
    for s in slots:
        ok = s.state in (SlotState.PRESENT, SlotState.REUSED, SlotState.COMMITTED,
                         SlotState.NOT_REQUIRED)
        if not ok:
            return ReportStatus.NEEDS_REVIEW
    return ReportStatus.COMPLETE

"""Run the rules accuracy benchmark: generate packets, read them, assess, score.

Modes:

* ``text``  — OCR-free: the text lines drawn on each page (with their boxes) are fed to the
  rules as if OCR had read them perfectly. Measures the rules alone.
* ``noisy`` — OCR-free with OCR-like noise: neighbouring boxes on a row merged, traditional
  variants (別), full-width digits, stray spaces, O for 0 and l for 1 in digit runs, lower
  confidences. Still no OCR; shows how robust the rules are to what OCR does.
* ``ocr``   — the real path of ``docintake check``: each page is degraded like a scan (some
  rotated), encoded as JPEG, read by `ocr.reader.read_file` and assessed with
  `intake.assess.assess`.

The rules-engine time per case is the time of `assess` alone (classification, grouping,
extraction, completeness), never OCR.
"""

from __future__ import annotations

import io
import json
import random
import statistics
import time
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from PIL import Image

from bench.rules import blind, fresh
from bench.rules.generator import Packet, PageSpec, build_packet
from bench.rules.layout import reading_order
from bench.rules.samples_api import samples as S
from intake.assess import Assessment, Unreadable, assess
from ocr.types import OcrLine, OcrPage
from rules.catalog import Catalog, load_catalog
from rules.normalize import same_text
from rules.types import Document

# --- reading pages -----------------------------------------------------------------------------




def _text_page(n: int, spec: PageSpec) -> OcrPage:
    lines = tuple(OcrLine(t.text, 0.98, tuple(float(v) for v in t.box))  # type: ignore[arg-type]
                  for t in reading_order(spec.texts))
    return OcrPage(f"page-{n}.png", 1, "ocr", float(S.A4_SIZE[0]), float(S.A4_SIZE[1]), lines,
                   blank=not lines)


_VARIANTS = {"别": "別", "证": "証", "号": "號"}
_DIGIT_MISREADS = {"0": "O", "1": "l"}


@dataclass(frozen=True)
class _Noise:
    """What the OCR-free noisy mode does to a page, beyond merging boxes: glyphs glued to
    the start of a line (a check box or a speck read into the text), stray characters at
    the end, the middle dot read as something else, and the confidence range."""

    glyphs: tuple[str, ...]
    glyph_rate: float
    trailing: tuple[str, ...]
    trailing_rate: float
    middle_dots: tuple[str, ...]
    confidence: tuple[float, float]


# The held-out split's noise is of other kinds than the tuning split's.
NOISE = {
    "tune": _Noise(("☑", "□", "☐"), 0.02, ("、", "|"), 0.01, ("·", "•"), (0.86, 0.995)),
    "heldout": _Noise(("■", "√", "✓", "☒", "'"), 0.02, ("'", "`", "_", "l"), 0.01,
                      ("·", ".", "．", " "), (0.84, 0.995)),
}


def _noisy_page(n: int, spec: PageSpec, rng: random.Random, split: str = "tune") -> OcrPage:
    noise = NOISE[split]
    texts = reading_order(spec.texts)
    merged: list[tuple[str, list[float], float]] = []
    for t in texts:
        box = [float(v) for v in t.box]
        conf = rng.uniform(*noise.confidence)
        if merged:
            prev_text, prev_box, prev_conf = merged[-1]
            h = box[3] - box[1]
            same_row = abs(prev_box[1] - box[1]) < 0.4 * h
            gap = box[0] - prev_box[2]
            if same_row and 0 <= gap < 1.6 * h and rng.random() < 0.7:
                merged[-1] = (prev_text + t.text, [prev_box[0], min(prev_box[1], box[1]),
                              box[2], max(prev_box[3], box[3])], min(prev_conf, conf))
                continue
        merged.append((t.text, box, conf))
    lines = []
    for text, box, conf in merged:
        out = []
        for ch in text:
            r = rng.random()
            if ch in _VARIANTS and r < 0.3:
                ch = _VARIANTS[ch]
            elif ch.isdigit() and r < 0.03:
                ch = chr(ord(ch) + 0xFEE0)  # full-width
            elif ch in _DIGIT_MISREADS and r < 0.006:
                ch = _DIGIT_MISREADS[ch]
            if ch == "·":
                ch = rng.choice(noise.middle_dots)
            out.append(ch)
            if rng.random() < 0.01:
                out.append(" ")
        text = "".join(out)
        if rng.random() < noise.glyph_rate:
            text = rng.choice(noise.glyphs) + text
        if rng.random() < noise.trailing_rate:
            text += rng.choice(noise.trailing)
        lines.append(OcrLine(text, conf, tuple(box)))  # type: ignore[arg-type]
    return OcrPage(f"page-{n}.png", 1, "ocr", float(S.A4_SIZE[0]), float(S.A4_SIZE[1]),
                   tuple(lines), blank=not lines)


def _low_resolution_copy(img: Image.Image, rng: random.Random) -> Image.Image:
    """The held-out split's extra scan degradation: a copy scanned at a lower resolution
    and with darker toner (photocopy of a photocopy)."""
    w, h = img.size
    f = rng.uniform(0.6, 0.8)
    small = img.resize((int(w * f), int(h * f)), Image.Resampling.BILINEAR)
    out = small.resize((w, h), Image.Resampling.BILINEAR)
    gamma = rng.uniform(1.2, 1.5)
    return out.point(lambda v: int(255 * (v / 255) ** gamma))


def _ocr_pages(packet: Packet, engine: Any, rng: random.Random, split: str = "tune"
               ) -> tuple[list[OcrPage], list[Unreadable], float]:
    from ocr.reader import read_file

    pages: list[OcrPage] = []
    unreadable: list[Unreadable] = []
    spent = 0.0
    for n, spec in enumerate(packet.pages, 1):
        if split == "fresh":
            img = fresh.scan(spec, rng)
        elif split == "blind":
            img = blind.scan(spec, rng)
        else:
            img = S.degrade(spec.image, rng, level=spec.level,
                            grey=True if spec.material_type == "id_card" else None,
                            rotate=spec.rotate)
        if split == "heldout" and rng.random() < 0.5:
            img = _low_resolution_copy(img, rng)
        buf = io.BytesIO()
        img.save(buf, "JPEG", quality=88, dpi=(S.DPI, S.DPI))
        t0 = time.perf_counter()
        result = read_file(buf.getvalue(), f"{packet.name}-p{n}.jpg", engine)
        spent += time.perf_counter() - t0
        pages.extend(result.pages)
        unreadable += [Unreadable(e.source, None, e.code, e.message) for e in result.errors]
    return pages, unreadable, spent


# --- scoring -----------------------------------------------------------------------------------


@dataclass
class Score:
    pages: int = 0
    pages_ok: int = 0
    page_confusion: Counter[tuple[str, str]] = field(default_factory=Counter)
    fields: dict[str, list[int]] = field(default_factory=lambda: defaultdict(lambda: [0, 0]))
    slots: int = 0
    slots_ok: int = 0
    slot_confusion: Counter[tuple[str, str, str]] = field(default_factory=Counter)
    status: Counter[tuple[str, str]] = field(default_factory=Counter)
    false_complete: list[str] = field(default_factory=list)
    rules_ms: list[float] = field(default_factory=list)
    ocr_s: float = 0.0
    cases: int = 0
    cases_all_slots_ok: int = 0
    failures: list[dict[str, Any]] = field(default_factory=list)

    def field_rate(self, names: Sequence[str]) -> tuple[int, int]:
        ok = sum(self.fields[n][0] for n in names if n in self.fields)
        total = sum(self.fields[n][1] for n in names if n in self.fields)
        return ok, total


def _best_doc(docs: Sequence[Document], material_type: str, pages: tuple[int, ...]
              ) -> Document | None:
    best: tuple[int, Document] | None = None
    for d in docs:
        if d.material_type != material_type:
            continue
        overlap = len(set(d.pages) & set(pages))
        if overlap and (best is None or overlap > best[0]):
            best = (overlap, d)
    return best[1] if best else None


def _field_ok(truth: str | None, doc: Document | None, name: str) -> tuple[bool, Any]:
    ef = doc.fields.get(name) if doc else None
    got = ef.value if ef else None
    if truth is None:
        return got is None, got
    return got is not None and same_text(got, truth), got


def score_case(packet: Packet, assessment: Assessment, score: Score, catalog: Catalog) -> None:
    report = assessment.report
    failure: dict[str, Any] = {"packet": packet.name, "notes": packet.notes}
    classes = {c.page: c for c in assessment.analysis.classifications}
    wrong_pages = []
    for n, spec in enumerate(packet.pages, 1):
        got = classes[n].material_type if n in classes else "(none)"
        score.pages += 1
        score.page_confusion[(spec.material_type, got)] += 1
        if got == spec.material_type:
            score.pages_ok += 1
        else:
            wrong_pages.append({"page": n, "truth": spec.material_type, "got": got,
                                "reason": classes[n].reason if n in classes else ""})
    wrong_fields = []
    for doc, pages in packet.documents:
        found = _best_doc(report.documents, doc.material_type, pages)
        for name, truth in doc.fields.items():
            if catalog.material_types[doc.material_type].field(name) is None:
                continue
            key = f"{doc.material_type}.{name}"
            ok, got = _field_ok(truth, found, name)
            score.fields[key][1] += 1
            if ok:
                score.fields[key][0] += 1
            else:
                wrong_fields.append({"field": key, "truth": truth, "got": got,
                                     "doc": found.id if found else None})
    wrong_slots = []
    got_states = {s.code: s.state.value for s in report.slots}
    for slot, truth in packet.expected_states.items():
        got = got_states.get(slot, "(none)")
        score.slots += 1
        score.slot_confusion[(slot, truth, got)] += 1
        if got == truth:
            score.slots_ok += 1
        else:
            slot_result = next((s for s in report.slots if s.code == slot), None)
            wrong_slots.append({"slot": slot, "truth": truth, "got": got, "findings": [
                f.message for f in (slot_result.findings if slot_result else ())]})
    status = assessment.status
    score.status[(packet.expected_status, status)] += 1
    if status == "complete" and packet.expected_status != "complete":
        score.false_complete.append(packet.name)
    score.cases += 1
    if not wrong_slots:
        score.cases_all_slots_ok += 1
    if wrong_pages or wrong_fields or wrong_slots or status == "complete" != (
            packet.expected_status == "complete"):
        failure.update({"pages": wrong_pages, "fields": wrong_fields, "slots": wrong_slots,
                        "status": [packet.expected_status, status]})
        score.failures.append(failure)


# --- running -----------------------------------------------------------------------------------


HELDOUT_SEED_OFFSET = 1000
"""The held-out split runs on seed + this offset (and its own random stream and template
families): a different generator seed as well as different wordings."""


def run(mode: str, packets: int, seed: int, *, catalog: Catalog | None = None,
        threads: int = 2, progress: bool = True, split: str = "tune") -> Score:
    catalog = catalog or load_catalog()
    score = Score()
    engine = None
    if mode == "ocr":
        from ocr.engine import EngineOptions, get_engine

        engine = get_engine(EngineOptions(threads=threads))
    for i in range(packets):
        packet_seed = seed + {"heldout": HELDOUT_SEED_OFFSET,
                              "fresh": fresh.SEED_OFFSET, "blind": blind.SEED_OFFSET}.get(split, 0)
        packet = build_packet(packet_seed, i, split=split)
        rng = random.Random(f"read/{split}/{packet_seed}/{i}")
        unreadable: list[Unreadable] = []
        if mode == "text":
            pages = [_text_page(n, p) for n, p in enumerate(packet.pages, 1)]
        elif mode == "noisy" and split == "fresh":
            protected = fresh.protected_values(packet)
            pages = [fresh.noisy_page(n, p, rng, protected) for n, p in enumerate(packet.pages, 1)]
        elif mode == "noisy" and split == "blind":
            pages = [blind.noisy_page(n, p, rng) for n, p in enumerate(packet.pages, 1)]
        elif mode == "noisy":
            pages = [_noisy_page(n, p, rng, split) for n, p in enumerate(packet.pages, 1)]
        else:
            pages, unreadable, spent = _ocr_pages(packet, engine, rng, split)
            score.ocr_s += spent
        item = catalog.item(packet.item_code)
        t0 = time.perf_counter()
        assessment = assess(pages, item, catalog, packet.acceptance_date,
                            certificates=packet.certificates, unreadable=unreadable)
        score.rules_ms.append((time.perf_counter() - t0) * 1000)
        score_case(packet, assessment, score, catalog)
        if progress and mode == "ocr":
            print(f"  [{i + 1}/{packets}] {packet.name}: {len(packet.pages)} pages, "
                  f"truth {packet.expected_status}, got {assessment.status}", flush=True)
    return score


def _pct(ok: int, total: int) -> str:
    return f"{100 * ok / total:6.2f}% ({ok}/{total})" if total else "   n/a"


def summary(mode: str, score: Score, split: str = "tune") -> dict[str, Any]:
    ids = ("id_card.id_number", "application_form.legal_rep_id_number",
           "application_form.agent_id_number", "application_form.applicant_id",
           "power_of_attorney.agent_id_number", "commitment_letter.signer_id_number",
           "business_license.credit_code")
    ms = sorted(score.rules_ms)
    id_ok, id_total = score.field_rate(ids)
    statuses_ok = sum(n for (t, g), n in score.status.items() if t == g)
    return {
        "split": split,
        "mode": mode,
        "cases": score.cases,
        "pages": score.pages,
        "page_classification": score.pages_ok / score.pages if score.pages else None,
        "id_and_credit_code_exact": id_ok / id_total if id_total else None,
        "fields": {k: v[0] / v[1] for k, v in sorted(score.fields.items())},
        "field_counts": {k: v for k, v in sorted(score.fields.items())},
        "slot_state": score.slots_ok / score.slots if score.slots else None,
        "status_accuracy": statuses_ok / score.cases if score.cases else None,
        "fields_exact": (sum(v[0] for v in score.fields.values())
                         / max(1, sum(v[1] for v in score.fields.values()))),
        "cases_all_slots_right": score.cases_all_slots_ok,
        "false_complete": len(score.false_complete),
        "false_complete_cases": score.false_complete,
        "status": {f"{t}->{g}": n for (t, g), n in sorted(score.status.items())},
        "rules_ms_median": statistics.median(ms) if ms else None,
        "rules_ms_p95": ms[int(0.95 * (len(ms) - 1))] if ms else None,
        "rules_ms_max": ms[-1] if ms else None,
        "ocr_seconds_total": round(score.ocr_s, 1),
    }


def print_summary(s: dict[str, Any], score: Score, *, details: bool = True) -> None:
    print(f"\n== split {s['split']}, mode {s['mode']}: {s['cases']} cases, {s['pages']} pages ==")
    print(f"page classification     {_pct(score.pages_ok, score.pages)}")
    ids = ("id_card.id_number", "application_form.legal_rep_id_number",
           "application_form.agent_id_number", "application_form.applicant_id",
           "power_of_attorney.agent_id_number", "commitment_letter.signer_id_number",
           "business_license.credit_code")
    print(f"ID no. + credit code    {_pct(*score.field_rate(ids))}")
    print(f"slot states             {_pct(score.slots_ok, score.slots)}")
    print(f"cases with every slot right {score.cases_all_slots_ok}/{score.cases}")
    ok_status = sum(n for (t, g), n in score.status.items() if t == g)
    print(f"status accuracy         {_pct(ok_status, score.cases)}")
    fields_ok = sum(v[0] for v in score.fields.values())
    print(f"fields exact (all)      {_pct(fields_ok, sum(v[1] for v in score.fields.values()))}")
    print(f"false complete          {s['false_complete']} {s['false_complete_cases'] or ''}")
    print("status truth->got       " + ", ".join(f"{k}: {v}" for k, v in s["status"].items()))
    print(f"rules time per case     median {s['rules_ms_median']:.2f} ms, "
          f"p95 {s['rules_ms_p95']:.2f} ms, max {s['rules_ms_max']:.2f} ms")
    if s["ocr_seconds_total"]:
        print(f"OCR time                {s['ocr_seconds_total']} s total "
              f"({s['ocr_seconds_total'] / max(s['pages'], 1):.2f} s/page)")
    if not details:
        return
    print("fields (exact match):")
    for k, (ok, total) in sorted(score.fields.items()):
        print(f"  {k:42s} {_pct(ok, total)}")
    wrong = [(k, n) for k, n in score.page_confusion.items() if k[0] != k[1]]
    if wrong:
        print("page confusions (truth -> got): " + ", ".join(
            f"{t}->{g} ×{n}" for (t, g), n in sorted(wrong, key=lambda x: -x[1])))
    bad_slots = [(k, n) for k, n in score.slot_confusion.items() if k[1] != k[2]]
    if bad_slots:
        print("slot confusions (slot truth -> got): " + ", ".join(
            f"{s} {t}->{g} ×{n}" for (s, t, g), n in sorted(bad_slots, key=lambda x: -x[1])))


def write_failures(path: Path, score: Score) -> None:
    path.write_text(json.dumps(score.failures, ensure_ascii=False, indent=1), encoding="utf-8")

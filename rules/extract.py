"""Field extraction driven by the catalog's field definitions.

What OCR gives us is lines of text with boxes. A label and its value may be

* on one line, with or without a separator: "姓名：张三", "姓名 张三", "姓名张三";
* several pairs merged on one line by PP-OCR: "姓名张三性别男" -> name 张三, sex 男 (the
  line is split at the other labels the material type knows);
* in a separate box to the right on the same row (table forms);
* on the next line below the label.

Generic labels such as 身份证号码 belong to the field whose `after` names the field just
read ("委托代理人 王五 身份证号码 …" -> agent_id_number). A field not found by label may
be found by the regex `patterns` its definition declares, and identifiers by their shape
when the material has exactly one field of that kind (the number on an ID card front).

Every value is normalised (half-width, ISO dates, 长期 -> value None with open_ended, IDs
repaired and validated) and carries its provenance: page, box and OCR confidence.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from rules.catalog import FieldDef, MaterialType
from rules.classify import PageView, find_keyword
from rules.normalize import (
    clean_value,
    compact,
    find_credit_code_candidates,
    find_dates,
    find_id_candidates,
    is_empty_value,
    is_open_end,
    parse_date,
    parse_range,
    person_name,
    strip_marks,
    ticked_options,
    to_halfwidth,
)
from rules.types import Box, ExtractedField, PageText, TextLine
from rules.validators import validate_credit_code, validate_id_number

_LEAD = re.compile(r"^[\d一二三四五六七八九十.、()\[\]□☑☐☒■▪√✓✔*·•'`\-]*")
_SEPARATORS = ":;,，；、|"
# "申请人（经营者）张萍", "出租方（甲方）：" — a short bracketed word right after a label
# annotates the label; it is not the value.
_LABEL_ANNOTATION = re.compile(r"^\([^()]{1,8}\)")
_LABELISH = re.compile(r"^[\u4e00-\u9fa5]{2,8}:")  # "联系人：…" starts a new field
_NAME_NOTES = re.compile(
    r"\(?(?:以下简称|下称|签字|签名|签章|盖章|手印|捺印)[^()]{0,12}\)?$"
)
_SHAPED = ("id_number", "credit_code", "id_or_credit_code", "date", "date_range",
           "date_or_open_end", "person_name")
_NAME_PREFIX = re.compile(r"^\(?(?:签字|签名|签章|盖章|手印)\)?:?")
_SECTION_WORDS = {"信息", "情况", "基本信息", "基本情况", "信息栏", "栏"}
_PROSE = re.compile(r"[，。,][\u4e00-\u9fa5]")
# Values printed in pieces on their row: a date in boxes, an address, an identifier in
# printed boxes or groups that OCR read as two or more boxes ("110108" "197405084286").
_SPANNING = ("date", "date_range", "date_or_open_end", "address", "id_number", "credit_code",
             "id_or_credit_code")
_GENERIC_NAMES = {"公司", "有限公司", "有限责任公司", "股份有限公司"}
_HEADING = re.compile(r"[\u4e00-\u9fa5()/、]{1,8}:?")
_OWNER_ABOVE = 6.0
"""How far above a generic label (in line heights) a person's label still heads it."""
_CAPTION = re.compile(r"\(([^()]{2,24})\)")  # "（申请人名称）" under its value
# Check boxes, ticks and specks OCR reads in front of a line ("☒909", "√人员类别"); never
# digits, which may be the value itself.
_MARKS = re.compile(r"^[□☑☐☒■▪√✓✔*·•'`\-]+")


def _unmarked(text: str) -> str:
    return _MARKS.sub("", text)


def _as_printed(value: str, printed: str) -> str:
    """`value`, cut from a line's compacted text, with the spaces the line has inside it:
    the space OCR reads for the middle dot of a transliterated name ("阿卜杜拉 帕提古丽") is
    the only sign of where the name's parts meet."""
    if not value or len(value) > 40:
        return value
    m = re.search(r"\s*".join(re.escape(ch) for ch in value), to_halfwidth(printed))
    return m.group(0) if m else value


@dataclass(frozen=True)
class _Label:
    text: str
    fields: tuple[str, ...]  # fields this label names directly (two for a date range)
    context: tuple[str, ...]  # fields that take it only right after one of their `after`


@dataclass(frozen=True)
class _Hit:
    start: int
    end: int
    label: _Label


class _LabelIndex:
    """All labels of one material type, longest first so "法定代表人身份证号码" wins
    over "法定代表人"."""

    def __init__(self, mt: MaterialType) -> None:
        by_text: dict[str, tuple[list[str], list[str]]] = {}
        for f in mt.fields:
            if f.source != "label" and not f.labels:
                continue
            for lab in f.labels:
                by_text.setdefault(compact(lab), ([], []))[0].append(f.name)
            for lab in f.context_labels:
                by_text.setdefault(compact(lab), ([], []))[1].append(f.name)
        for lab in mt.stop_labels:
            by_text.setdefault(compact(lab), ([], []))
        self.labels = sorted(
            (_Label(t, tuple(fs), tuple(cs)) for t, (fs, cs) in by_text.items()),
            key=lambda lab: -len(lab.text),
        )
        self.kinds = {f.name: f.kind for f in mt.fields}
        # Long labels cut short by a line break in a table cell: a line that is exactly a
        # prefix of one label (and not a label itself) stands for that label.
        known = {lab.text for lab in self.labels}
        prefixes: dict[str, list[_Label]] = {}
        for entry in self.labels:
            if not entry.fields or len(entry.text) < 7:
                continue
            for k in range(max(5, (len(entry.text) * 3 + 4) // 5), len(entry.text)):
                prefixes.setdefault(entry.text[:k], []).append(entry)
        self.partials = {p: labs[0] for p, labs in prefixes.items()
                         if p not in known and len({lb.fields for lb in labs}) == 1}
        self._cache: dict[str, tuple[list[_Hit], int]] = {}

    def hits(self, text: str, filled: frozenset[str] = frozenset()) -> list[_Hit]:
        """Label occurrences in one compacted line that plausibly start a value.

        A label in the middle of a line splits it ("姓名张三性别男") when it is followed
        by a separator, is long enough to be unambiguous, follows a short value, or names
        a field not read yet; a short label inside an address ("民族路") does not."""
        found = self._cache.get(text)
        if found is None:
            found = self._candidates(text)
            if len(self._cache) > 4096:
                self._cache.clear()
            self._cache[text] = found
        taken, lead_end = found
        return self._accept(text, taken, lead_end, filled)

    def _candidates(self, text: str) -> tuple[list[_Hit], int]:
        lead = _LEAD.match(text)
        lead_end = lead.end() if lead else 0
        rest = text[lead_end:].rstrip(":")
        partial = self.partials.get(rest)
        if partial is not None:
            # A label cell wrapped over two lines ("法定代表人身份证件" / "号码").
            return [_Hit(lead_end, len(text), partial)], lead_end
        chars = set(text)
        taken: list[_Hit] = []
        for lab in self.labels:
            if lab.text[0] not in chars:
                continue
            start = 0
            while True:
                at = text.find(lab.text, start)
                if at < 0:
                    break
                end = at + len(lab.text)
                if all(end <= h.start or at >= h.end for h in taken):
                    taken.append(_Hit(at, end, lab))
                start = at + 1
        if not any(h.start <= lead_end for h in taken):
            # A misread character in a long label at the start of the line.
            head = text[lead_end:]
            for lab in self.labels:
                if len(lab.text) >= 4:
                    span = find_keyword(lab.text, head[: len(lab.text)])
                    after = head[len(lab.text) : len(lab.text) + 1]
                    if len(lab.text) < 6 and after and "\u4e00" <= after <= "\u9fff":
                        # "身份证件类型" is not a misread "身份证号": a short label with a
                        # wrong character must stand alone or before its value.
                        continue
                    if span == (0, len(lab.text)):
                        taken = [h for h in taken if h.start >= lead_end + len(lab.text)]
                        taken.append(_Hit(lead_end, lead_end + len(lab.text), lab))
                        break
        # "…为我单位代理人，代为办理": a label word inside a line followed by a comma or
        # a full stop is prose, not a label.
        taken = [h for h in taken if h.start <= lead_end
                 or text[h.end : h.end + 1] not in (",", "。")]
        # "委托人（盖章）：" — a word in brackets right after a label annotates it.
        taken = [h for h in taken
                 if not (text[h.start - 1 : h.start] == "(" and text[h.end : h.end + 1] == ")")]
        taken.sort(key=lambda h: h.start)
        return taken, lead_end

    def _accept(self, text: str, taken: list[_Hit], lead_end: int, filled: frozenset[str]
                ) -> list[_Hit]:
        if _PROSE.search(text) and len(text) > 25:
            # A sentence ("兹委托李四为我单位代理人，代为办理…") names things in passing;
            # only "label:" starts a value there.
            taken = [h for h in taken if text[h.end : h.end + 1] == ":"]
        accepted: list[_Hit] = []
        for h in taken:
            if h.start <= lead_end:
                accepted.append(h)
                continue
            if not accepted:
                # Text before the first label: only an explicit "label:" starts a value.
                if text[h.end : h.end + 1] == ":" or len(h.label.text) >= 3:
                    accepted.append(h)
                continue
            prev = accepted[-1]
            gap = text[prev.end : h.start].strip(_SEPARATORS + " ")
            prev_kind = {self.kinds.get(f) for f in prev.label.fields + prev.label.context}
            if text[h.end : h.end + 1] == ":":
                accepted.append(h)
            elif "address" in prev_kind and len(h.label.text) < 4:
                # 住址北京市民族大道 — short labels inside an address are part of it.
                continue
            elif (len(h.label.text) >= 3 or len(gap) <= 6
                  or (h.label.fields and not set(h.label.fields) <= filled)):
                accepted.append(h)
        return accepted


def _vertical_overlap(a: TextLine, b: TextLine) -> float:
    top = max(a.box[1], b.box[1])
    bottom = min(a.box[3], b.box[3])
    h = min(a.box[3] - a.box[1], b.box[3] - b.box[1])
    return (bottom - top) / h if h > 0 else 0.0


def _right_of(lines: Sequence[TextLine], i: int) -> int | None:
    me = lines[i]
    best: tuple[float, int] | None = None
    for j, other in enumerate(lines):
        # A little overlap is tolerated: a long label may run into the value's cell.
        h = me.box[3] - me.box[1]
        if (j == i or other.box[0] < me.box[2] - max(2.0, 1.5 * h)
                or other.box[0] <= me.box[0] + 0.5 * (me.box[2] - me.box[0])
                or _vertical_overlap(me, other) < 0.5):
            continue
        if best is None or other.box[0] < best[0]:
            best = (other.box[0], j)
    return best[1] if best else None


def _char_width(ch: str) -> float:
    return 0.55 if ch.isascii() else 1.0


def _split_by_columns(line: TextLine, text: str, starts: Sequence[float], h: float
                      ) -> list[tuple[int, str, Box]]:
    """A row cell's text by column. A box whose text runs over the start of another column
    (OCR merged two cells: "31010419611030东方文静") is cut where that column starts,
    estimating each character's position from its width (CJK full, ASCII about half)."""
    x0, y0, x1, y1 = line.box

    def column(x: float) -> int:
        return max((c for c, s in enumerate(starts) if s - h <= x), default=-1)

    first, last = column(x0), column(x1 - h)
    if last <= first or not text:
        centre = (x0 + x1) / 2
        return [(column(centre), text, line.box)]
    widths = [_char_width(ch) for ch in text]
    scale = (x1 - x0) / sum(widths)
    pieces: list[tuple[int, str, Box]] = []
    at, x, k = 0, x0, first
    for c in range(first + 1, last + 1):
        cut = at
        pos = x
        while cut < len(text) and pos + widths[cut] * scale / 2 < starts[c] - 0.5 * h:
            pos += widths[cut] * scale
            cut += 1
        # The estimate is rough where the boxes had a gap between them: snap to a nearby
        # change between digits/Latin and Chinese ("…1030|东方文静").
        turns = [t for t in range(max(at + 1, cut - 6), min(len(text), cut + 7))
                 if text[t - 1].isascii() != text[t].isascii()]
        if turns:
            snapped = min(turns, key=lambda t: abs(t - cut))
            pos += sum(widths[min(cut, snapped) : max(cut, snapped)]) * scale * (
                1 if snapped > cut else -1)
            cut = snapped
        if cut > at:
            pieces.append((k, text[at:cut], (x, y0, pos, y1)))
        at, x, k = cut, pos, c
    if at < len(text):
        pieces.append((k, text[at:], (x, y0, x1, y1)))
    return pieces


def _rows(lines: Sequence[TextLine]) -> list[list[int]]:
    """Line indices grouped into rows (centres within half a line height), top to bottom,
    each left to right."""
    order = sorted(range(len(lines)), key=lambda j: (lines[j].box[1] + lines[j].box[3]) / 2)
    rows: list[list[int]] = []
    for j in order:
        b = lines[j].box
        c = (b[1] + b[3]) / 2
        if rows:
            f = lines[rows[-1][0]].box
            if abs(c - (f[1] + f[3]) / 2) < 0.5 * max(f[3] - f[1], 1.0):
                rows[-1].append(j)
                continue
        rows.append([j])
    return [sorted(r, key=lambda j: lines[j].box[0]) for r in rows]


def _with_vertical_labels(lines: Sequence[TextLine], texts: list[str]
                          ) -> tuple[list[TextLine], list[str]]:
    """The lines plus one line for each label printed vertically, a character per line, in
    a merged cell at a table's left ("法/定/代/表/人" beside the rows of that person); the
    joined line spans the rows it heads."""
    singles = sorted((j for j, t in enumerate(texts) if len(t) == 1 and "\u4e00" <= t <= "\u9fff"),
                     key=lambda j: (lines[j].box[0], lines[j].box[1]))
    chains: list[list[int]] = []
    for j in sorted(singles, key=lambda j: lines[j].box[1]):
        b = lines[j].box
        h = max(b[3] - b[1], 1.0)
        for chain in chains:
            last = lines[chain[-1]].box
            if abs(last[0] - b[0]) <= 0.5 * h and 0 <= b[1] - last[3] <= 1.0 * h:
                chain.append(j)
                break
        else:
            chains.append([j])
    out_lines, out_texts = list(lines), list(texts)
    for chain in chains:
        if len(chain) < 2:
            continue
        boxes = [lines[j].box for j in chain]
        # The joined label takes the first character's place; the others are emptied
        # (kept, so that line numbers stay valid) and can no longer pass for a value.
        out_lines[chain[0]] = TextLine("".join(lines[j].text for j in chain),
                                       min(lines[j].confidence for j in chain),
                                       (min(b[0] for b in boxes), boxes[0][1],
                                        max(b[2] for b in boxes), boxes[-1][3]))
        out_texts[chain[0]] = "".join(texts[j] for j in chain)
        for j in chain[1:]:
            out_texts[j] = ""
    return out_lines, out_texts


def _left_of(lines: Sequence[TextLine], i: int) -> int | None:
    """The nearest line just left of line `i` on the same row (a value before its
    caption), within four line heights."""
    me = lines[i]
    h = max(me.box[3] - me.box[1], 1.0)
    best: tuple[float, int] | None = None
    for j, other in enumerate(lines):
        gap = me.box[0] - other.box[2]
        if j == i or _vertical_overlap(me, other) < 0.5 or not -0.5 * h <= gap <= 4 * h:
            continue
        if best is None or gap < best[0]:
            best = (gap, j)
    return best[1] if best else None


def _above(lines: Sequence[TextLine], i: int) -> int | None:
    """The nearest line directly above line `i` whose centre lies over it (a value above
    its caption)."""
    me = lines[i]
    h = max(me.box[3] - me.box[1], 1.0)
    best: tuple[float, int] | None = None
    for j, other in enumerate(lines):
        centre = (other.box[0] + other.box[2]) / 2
        gap = me.box[1] - other.box[3]
        if j == i or not (me.box[0] - h <= centre <= me.box[2] + h) or not -0.3 * h <= gap <= 3 * h:
            continue
        if best is None or gap < best[0]:
            best = (gap, j)
    return best[1] if best else None


def _owner_near(lines: Sequence[TextLine], i: int, owner_at: dict[int, str]) -> str | None:
    """The person whose label is printed nearest before line `i`: to its left on the same
    row, or above it in the same column (a section heading over its column). Distances in
    line heights; None when no person's label is in either place."""
    me = lines[i]
    h = max(me.box[3] - me.box[1], 1.0)
    best: tuple[float, str] | None = None
    for j, owner in owner_at.items():
        o = lines[j]
        if j == i:
            continue
        centre = (me.box[1] + me.box[3]) / 2
        beside = _vertical_overlap(me, o) >= 0.5 or (
            # a label stacked vertically heads every row it stands beside
            o.box[3] - o.box[1] > 2 * h and o.box[1] - 0.5 * h <= centre <= o.box[3] + 0.5 * h)
        if beside and o.box[2] <= me.box[0] + h:
            gap = (me.box[0] - o.box[2]) / h
        elif o.box[3] <= me.box[1] + 0.3 * h and min(me.box[2], o.box[2]) > max(me.box[0],
                                                                               o.box[0]):
            gap = (me.box[1] - o.box[3]) / h
            if gap > _OWNER_ABOVE:
                continue  # far up the page: reading order knows better
        else:
            continue
        if best is None or gap < best[0]:
            best = (gap, owner)
    return best[1] if best else None


def _row_right(lines: Sequence[TextLine], i: int) -> list[int]:
    """Boxes to the right of line `i` on the same row, left to right."""
    me = lines[i]
    row = [j for j, other in enumerate(lines)
           if j != i and other.box[0] >= me.box[2] - 2 and _vertical_overlap(me, other) >= 0.5]
    return sorted(row, key=lambda j: lines[j].box[0])


def _below(lines: Sequence[TextLine], i: int) -> int | None:
    me = lines[i]
    h = max(me.box[3] - me.box[1], 1.0)
    best: tuple[float, int] | None = None
    for j, other in enumerate(lines):
        if j == i:
            continue
        dy = other.box[1] - me.box[3]
        if dy < -0.3 * h or dy > 2.5 * h:
            continue
        overlaps = min(me.box[2], other.box[2]) - max(me.box[0], other.box[0]) > 0
        if not overlaps and abs(other.box[0] - me.box[0]) > 3 * h:
            continue
        if best is None or dy < best[0]:
            best = (dy, j)
    return best[1] if best else None


# --- value normalisation ---------------------------------------------------------------------


def _strip_words(value: str, words: Iterable[str]) -> str:
    for w in sorted(words, key=len, reverse=True):
        cw = compact(w)
        if value.endswith(cw):
            value = value[: -len(cw)]
        elif value.startswith(cw):
            value = value[len(cw) :]
    return value


def normalise(fdef: FieldDef, raw: str, conf: float, page: int, box: tuple[float, ...] | None
              ) -> ExtractedField | None:
    """Turn the raw text found for a field into an ExtractedField; None when there is
    nothing there at all."""
    text = clean_value(raw)
    if not text:
        return None
    mk = _Maker(conf, page, (box[0], box[1], box[2], box[3]) if box else None,
                raw.strip(" " + _SEPARATORS))
    if is_empty_value(text):
        return mk(None)  # deliberately left empty ("无")
    kind = fdef.kind
    if kind in ("id_number", "credit_code", "id_or_credit_code"):
        return _identifier(kind, text, mk)
    if kind in ("date", "date_or_open_end"):
        if kind == "date_or_open_end" and is_open_end(text):
            return mk(None, valid=True, open_ended=True)
        d = parse_date(text)
        if d is None:
            return mk(None, valid=False, problem="无法识别日期", code="date")
        return mk(d.isoformat(), valid=True)
    if kind == "date_range":
        start, end = parse_range(text)
        tok = start if fdef.part == "start" else end
        if tok is None:
            if fdef.part == "start" and end is not None:
                return None  # "营业期限 长期": there is no start to report
            return mk(None, valid=False, problem="无法识别期限日期", code="date")
        if tok.open_ended:
            return mk(None, valid=True, open_ended=True)
        assert tok.value is not None
        return mk(tok.value.isoformat(), valid=True)
    if kind == "phone":
        m = re.search(r"\+?\d[\d\-]{5,}\d", text)
        return mk(m.group(0) if m else text, valid=bool(m))
    if kind == "number":
        m = re.search(r"\d+(?:\.\d+)?", text)
        return mk(m.group(0) if m else None, valid=bool(m))
    if kind == "person_name":
        spaced = strip_marks(to_halfwidth(raw)).strip(" " + _SEPARATORS)
        spaced = _NAME_PREFIX.sub("", _NAME_NOTES.sub("", spaced)).strip(_SEPARATORS + "() ")
        person = person_name(spaced)
        return mk(person) if person else None
    if kind == "text":
        return mk(ticked_options(text) or text)
    if kind == "name":
        text = _NAME_PREFIX.sub("", _NAME_NOTES.sub("", strip_marks(text))).strip(
            _SEPARATORS + "()")
        if text in _SECTION_WORDS:
            return None  # "法定代表人信息": a section heading, the name follows below
        text = _strip_words(text, fdef.strip)
        if not text or text in _GENERIC_NAMES:
            return None
        return mk(text[:60])
    if kind == "title":
        text = _strip_words(text, fdef.strip)
        return mk(text) if text else None
    return mk(_strip_words(text, fdef.strip) or text)


@dataclass(frozen=True)
class _Maker:
    """Builds ExtractedFields that share one provenance."""

    conf: float
    page: int
    box: tuple[float, float, float, float] | None
    raw: str

    def __call__(self, value: str | None, *, valid: bool | None = None, problem: str = "",
                 code: str = "", open_ended: bool = False, repaired: bool = False
                 ) -> ExtractedField:
        return ExtractedField(value, self.conf, self.page, self.box, raw=self.raw, valid=valid,
                              problem=problem, open_ended=open_ended, problem_code=code,
                              repaired=repaired)


def _identifier(kind: str, text: str, mk: _Maker) -> ExtractedField | None:
    if kind in ("id_number", "id_or_credit_code"):
        cands = find_id_candidates(text)
        vid = validate_id_number(cands[0] if cands else text)
        if kind == "id_number" or vid.valid:
            if not cands and len(re.sub(r"\D", "", text)) < 6:
                return None  # no number here at all (e.g. the label ran into other text)
            return mk(vid.value, valid=vid.valid, problem=vid.problem, code=vid.code,
                      repaired=vid.repaired)
    ccands = find_credit_code_candidates(text)
    vcc = validate_credit_code(ccands[0] if ccands else text)
    if kind == "id_or_credit_code" and not vcc.valid:
        # Neither validates: report it as whatever its shape says it is.
        vid = validate_id_number(text)
        if re.fullmatch(r"\d{17}[\dX]", vid.value):
            return mk(vid.value, valid=False, problem=vid.problem, code=vid.code)
    if len(re.sub(r"[^0-9A-Z]", "", text.upper())) < 6:
        return None
    return mk(vcc.value, valid=vcc.valid, problem=vcc.problem, code=vcc.code,
              repaired=vcc.repaired)


def _rank(f: ExtractedField) -> int:
    """How close a failed value came: a well-formed identifier with a bad check digit is
    better evidence than a number of the wrong length or a label's text."""
    if f.valid is not False:
        return 2
    return 1 if f.problem_code in ("check_digit", "birth_date") else 0


def _ok(f: ExtractedField | None) -> bool:
    return f is not None and (f.value is not None or f.open_ended) and f.valid is not False


# --- per page ----------------------------------------------------------------------------------


class Extractor:
    """Extracts the fields of one material type; build once per type, reuse per page."""

    def __init__(self, mt: MaterialType) -> None:
        self.mt = mt
        self.index = _LabelIndex(mt)
        self.fdefs = {f.name: f for f in mt.fields}
        # Fields that own a group of generic labels (the person whose 姓名 and 身份证号码
        # follow); a generic label belongs to the owner read last, whatever came between
        # ("姓名 / 联系电话 / 身份证件号码" in an agent's section).
        self.owners = {a for f in mt.fields for a in f.after}
        self.label_order = {f.name: [compact(lab) for lab in f.labels] for f in mt.fields}

    def _rank_of(self, name: str, label: str, by_context: bool) -> float:
        """A label's specificity for a field, by its place in the catalog's list (most
        specific first; a generic label such as 姓名 under a person's heading just after
        them); 0 — never replaced — for a field that has no alternatives."""
        labels = self.label_order.get(name, [])
        if len(labels) < 2:
            return 0.0
        if by_context:
            return len(labels) - 1.5
        return float(labels.index(label) + 1) if label in labels else float(len(labels))

    def extract_page(self, view: PageView, side: str | None = None) -> dict[str, ExtractedField]:
        page = view.page
        lines: Sequence[TextLine] = page.lines
        texts = view.texts
        out: dict[str, ExtractedField] = {}
        allowed = {
            name for name, f in self.fdefs.items()
            if f.side is None or side in (None, "both", f.side)
        }
        last_field: str | None = None
        lines, texts = _with_vertical_labels(lines, texts)
        hits_per_line = [self.index.hits(t) for t in texts]

        # How specific the label was that each value came from (lower is more specific):
        # on an individual business's form "名称" is the shop and "经营者姓名" the
        # applicant, so a value under a more specific label at the start of a line
        # replaces one found under a generic label.
        ranks: dict[str, float] = {}

        def store(name: str, ef: ExtractedField | None, rank: float = 0.0) -> None:
            if ef is None:
                return
            old = out.get(name)
            if old is None or (not _ok(old) and _ok(ef)) or (
                    _ok(ef) and rank < ranks.get(name, 0.0)):
                out[name] = ef
                ranks[name] = rank

        # Where each person's label starts a line: a generic label ("姓名", "证件号码")
        # belongs to the person labelled nearest before it on the page.
        owner_at: dict[int, str] = {}
        for j, hs in enumerate(hits_per_line):
            lead = _LEAD.match(texts[j])
            owner = next((f for h in hs if h.start <= (lead.end() if lead else 0)
                          for f in h.label.fields if f in self.owners), None)
            if owner is not None:
                owner_at[j] = owner
        consumed = self._tables(lines, texts, hits_per_line, allowed, page.number, store,
                                owner_at)
        consumed |= self._captions(lines, texts, allowed, page.number, store)
        # Row by row, left to right, whatever order OCR returned the boxes in: a generic
        # label ("证件号码") belongs to the person named before it on the printed form, and
        # OCR may read a form with two label/value pairs per row column by column.
        for i in (j for row in _rows(lines) for j in row):
            if i in consumed:
                continue
            text = texts[i]
            filled = frozenset(name for name, ef in out.items() if _ok(ef))
            hits = self.index.hits(text, filled) if filled else hits_per_line[i]
            owner_in_line = False
            lead = _LEAD.match(text)
            for k, hit in enumerate(hits):
                targets = [f for f in hit.label.fields if f in allowed]
                by_context = not targets
                near = None
                if not targets and hit.label.context:
                    near = None if owner_in_line else _owner_near(lines, i, owner_at)
                    person = near or last_field
                    targets = [
                        f for f in hit.label.context
                        if f in allowed and person in self.fdefs[f].after
                    ][:1]
                owner = next((f for f in (*hit.label.fields, *targets) if f in self.owners),
                             None)
                if owner is not None:
                    last_field = owner
                    owner_in_line = True
                # Only a label that plainly heads its value ("经营者姓名：", or a label box of
                # its own) may displace; "申请人声明：…" is another word.
                at_start = hit.start <= (lead.end() if lead else 0) and (
                    text[hit.end : hit.end + 1] in ("", ":")) and (
                    # a generic label displaces only under a person's label on the page
                    not by_context or near is not None)
                # A label inside a line ("本申请人承诺…") never displaces a value.
                rank = {t: (self._rank_of(t, hit.label.text, by_context) if at_start
                            else math.inf) for t in targets}
                if not targets or all(_ok(out.get(t)) and rank[t] >= ranks.get(t, 0.0)
                                      for t in targets):
                    continue
                end = hits[k + 1].start if k + 1 < len(hits) else len(text)
                raw = _LABEL_ANNOTATION.sub("", text[hit.end : end], count=1)
                for name in targets:
                    fdef = self.fdefs[name]
                    store(name, self._value(fdef, raw, lines, texts, hits_per_line, i, page.number),
                          rank[name])
        self._fallbacks(view, out, allowed)
        return out

    # --- captions under their values ----------------------------------------------------

    def _captions(self, lines: Sequence[TextLine], texts: list[str], allowed: set[str],
                  page: int, store: Callable[[str, ExtractedField | None], None]) -> set[int]:
        """Read values printed above a bracketed caption naming them, as on the SAMR
        forms: "福州博远餐饮管理有限公司" over "（申请人名称）". Returns the lines used."""
        used: set[int] = set()
        for i, text in enumerate(texts):
            m = _CAPTION.fullmatch(text)
            if m is None:
                continue
            inner = m.group(1)
            lab = self._pure_label(inner, self.index.hits(inner))
            if lab is None:
                continue
            targets = [f for f in lab.fields if f in allowed]
            if not targets:
                continue  # a generic caption ("（姓名）") says not whose
            j = _left_of(lines, i)
            if j is None or _CAPTION.fullmatch(texts[j]):
                j = _above(lines, i)
            if j is None or _CAPTION.fullmatch(texts[j]) or self.index.hits(texts[j]):
                continue
            for name in targets:
                fdef = self.fdefs[name]
                value = (_as_printed(texts[j], lines[j].text) if fdef.kind == "person_name"
                         else texts[j])
                ef = normalise(fdef, value, lines[j].confidence, page, lines[j].box)
                if ef is not None:
                    store(name, ef)
                    used |= {i, j}
        return used

    # --- tables whose labels head the columns ------------------------------------------

    def _pure_label(self, text: str, hits: list[_Hit]) -> _Label | None:
        """The label a cell consists of, if it holds nothing else."""
        if len(hits) != 1:
            return None
        lead = _LEAD.match(text)
        h = hits[0]
        if h.start <= (lead.end() if lead else 0) and h.end >= len(text.rstrip(":;,、|'`_.。")):
            return h.label
        return None

    def _role_in_row(self, cols: dict[int, tuple[int, str, Box]],
                     labels: list[_Label | None]) -> _Label | None:
        """The person's label a row's cell starts with, in a column headed by a label of
        no field (职务, 人员类别)."""
        for k, (_, piece, _) in cols.items():
            column = labels[k] if k >= 0 else None
            if column is None or column.fields or column.context:
                continue
            for hit in self.index.hits(piece):  # "执行董事兼法定代表人" too
                if any(f in self.owners for f in hit.label.fields):
                    return hit.label
        return None

    def _cell_fields(self, row_label: _Label | None, col_label: _Label | None,
                     allowed: set[str], heading_owner: str | None = None) -> list[str]:
        """The field at the crossing of a row label and a column label: the person (an
        owner field, "委托代理人") from one, the attribute ("身份证件号码", "联系电话",
        "姓名") from the other — or the person from the heading over the table."""
        labels = [lab for lab in (col_label, row_label) if lab is not None]
        owner = next((f for lab in labels for f in lab.fields if f in self.owners),
                     heading_owner)
        attributes = [lab for lab in labels if owner is None or owner not in lab.fields]
        if not attributes:
            # Only a person's label over the cell ("法定代表人姓名"): the person's name.
            return [owner] if owner in allowed and len(labels) == 1 else []
        lab = attributes[0]
        if lab.fields:
            return [f for f in lab.fields if f in allowed]
        if owner is not None:
            return [f for f in lab.context if f in allowed and owner in self.fdefs[f].after][:1]
        return []

    def _tables(self, lines: Sequence[TextLine], texts: list[str], hits: list[list[_Hit]],
                allowed: set[str], page: int,
                store: Callable[[str, ExtractedField | None], None],
                owner_at: dict[int, str]) -> set[int]:
        """Read tables whose first row is a row of labels ("姓名 | 身份证件号码 | 电话")
        and whose rows below hold the values in the same columns, each row possibly
        introduced by the person it is about ("委托代理人 | 李四 | …"); also transposed
        (people heading the columns, attributes the rows). Returns the lines used."""
        rows = _rows(lines)
        consumed: set[int] = set()
        for r, row in enumerate(rows):
            labels = [self._pure_label(texts[j], hits[j]) for j in row]
            n_labels = sum(lab is not None for lab in labels)
            # A corner heading this type does not know ("人员类别") may stand before the
            # labels; a cell after a label is its value (a label/value row, not a header).
            if n_labels < 2:
                continue
            first_label = next(k for k, lab in enumerate(labels) if lab is not None)
            if any(lab is None for lab in labels[first_label:]) or not all(
                    _HEADING.fullmatch(_unmarked(texts[j])) for j in row[:first_label]):
                continue
            h = max(lines[row[0]].box[3] - lines[row[0]].box[1], 1.0)
            starts = [lines[j].box[0] for j in row]
            # "经营者" printed over a table of 姓名 | 身份证件号码 without row labels.
            heading_owner = _owner_near(lines, row[first_label], owner_at)
            used_rows = []
            bottom = max(lines[j].box[3] for j in row)
            for data in rows[r + 1 :]:
                top = min(lines[j].box[1] for j in data)
                if top - bottom > 3.5 * h:
                    break
                if top - bottom < 0.8 * h and all(len(texts[j]) <= 3 for j in data):
                    # the wrapped end of a label cell ("统一社会信用代" / "码")
                    bottom = max(lines[j].box[3] for j in data)
                    continue
                if all(j in consumed for j in data):
                    continue  # the wrapped end of a value cell, already read
                if len(data) < 2:
                    break
                # Each cell's text by column (-1: left of the first column); a box OCR
                # merged over several columns is cut where the columns start.
                cols: dict[int, tuple[int, str, Box]] = {}
                for j in data:
                    for k, piece, pbox in _split_by_columns(lines[j], texts[j], starts, h):
                        cols.setdefault(k, (j, piece, pbox))
                # The person a row is about: in the header's unlabelled first column, or
                # left of every labelled column.
                label_col = 0 if labels[0] is None else -1
                head = cols.get(label_col)
                row_label = (self._pure_label(head[1], self.index.hits(head[1]))
                             if head is not None else None)
                if head is None:
                    # A people table whose roles are a column of its own ("职务":
                    # "法定代表人、执行董事", "监事"): the row is about the role it names.
                    row_label = self._role_in_row(cols, labels)
                values = [k for k, (_, piece, _) in cols.items()
                          if k >= 0 and labels[k] is not None
                          and self._pure_label(piece, self.index.hits(piece)) is None]
                read = False
                for k in values:
                    j, piece, pbox = cols[k]
                    # A row introduced by a person this type does not know ("食品安全管理
                    # 人员") is about that person, not the one the heading names first.
                    fields = self._cell_fields(row_label, labels[k], allowed,
                                               heading_owner if head is None else None)
                    for name in fields:
                        fdef = self.fdefs[name]
                        value = (_as_printed(piece, lines[j].text)
                                 if fdef.kind == "person_name" else piece)
                        ef = normalise(fdef, value, lines[j].confidence, page, pbox)
                        if ef is not None and ef.problem_code == "length":
                            ef = self._wrapped_in_cell(self.fdefs[name], ef, piece, pbox, lines,
                                                       texts, j, page, consumed)
                        store(name, ef)
                    if fields:
                        consumed.add(j)
                        read = True
                if not read and not (head is not None and row_label is None and values):
                    break
                # (a row about someone this type does not know is passed over, not the end
                # of the table: the people it does know may follow)
                if head is not None:
                    consumed.add(head[0])
                used_rows.append(data)
                bottom = max(lines[j].box[3] for j in data)
            if used_rows:
                consumed.update(row)
        return consumed

    def _wrapped_in_cell(self, fdef: FieldDef, ef: ExtractedField, text: str, box: Box,
                         lines: Sequence[TextLine], texts: list[str], j: int, page: int,
                         consumed: set[int]) -> ExtractedField:
        """An identifier too long for its table cell continues on the line below it, in
        the same column ("12010119980806" / "7102")."""
        me = lines[j]
        h = max(box[3] - box[1], 1.0)
        below = [k for k, ln in enumerate(lines)
                 if k != j and 0 <= ln.box[1] - box[3] <= 1.2 * h
                 and abs(ln.box[0] - box[0]) <= h and re.fullmatch(r"[0-9A-Za-z×]{1,17}",
                                                                   _unmarked(texts[k]))]
        if not below:
            return ef
        k = min(below, key=lambda k: lines[k].box[1])
        joined = normalise(fdef, text + _unmarked(texts[k]),
                           min(me.confidence, lines[k].confidence), page, box)
        if joined is None or not _ok(joined):
            return ef
        consumed.add(k)
        return joined

    def _value(self, fdef: FieldDef, raw: str, lines: Sequence[TextLine], texts: list[str],
               hits: list[list[_Hit]], i: int, page: int) -> ExtractedField | None:
        line = lines[i]
        if fdef.kind == "person_name":
            raw = _as_printed(raw, line.text)
        first = normalise(fdef, raw, line.confidence, page, line.box)
        if (first is not None and first.problem_code == "length" and i + 1 < len(texts)
                and texts[i].endswith(raw.rstrip())):
            # An identifier broken by the line end of running text ("…（身份证号码：
            # 2101021995010" / "3761X）为我方代理人").
            m = re.match(r"[0-9A-Za-z×]{1,17}", _unmarked(texts[i + 1]))
            if m:
                nxt = lines[i + 1]
                joined = normalise(fdef, raw + m.group(0),
                                   min(line.confidence, nxt.confidence), page, line.box)
                if _ok(joined):
                    return joined
        if _ok(first):
            assert first is not None
            if fdef.multiline and raw.strip(_SEPARATORS):
                first = self._continue(fdef, first, raw, lines, texts, hits, i, page)
            return first
        # Something is written after the label: look elsewhere only for values that have
        # a shape (an ID, a date) we failed to find here.
        if raw.strip(_SEPARATORS + " ") and fdef.kind not in _SHAPED:
            return first
        for j in (_right_of(lines, i), _below(lines, i)):
            if j is None:
                continue
            nh = hits[j]
            lead = _LEAD.match(texts[j])
            if nh and nh[0].start <= (lead.end() if lead else 0):
                continue  # the neighbour is another label
            if _LABELISH.match(texts[j]) and not (fdef.kind in _SHAPED and _ok(normalise(
                    fdef, texts[j], lines[j].confidence, page, lines[j].box))):
                continue  # "证照编号：…": a label this material type does not know
            cut = nh[0].start if nh else len(texts[j])
            value = texts[j][:cut]
            if fdef.kind == "person_name":
                value = _as_printed(value, lines[j].text)
            cand = normalise(fdef, value, lines[j].confidence, page, lines[j].box)
            if cand is not None and cand.problem_code == "length" and cut == len(texts[j]):
                # The value's own cell, too narrow for the number: it wraps below.
                cand = self._wrapped_in_cell(fdef, cand, texts[j], lines[j].box, lines, texts,
                                             j, page, set())
            if _ok(cand):
                assert cand is not None
                if fdef.multiline:
                    cand = self._continue(fdef, cand, texts[j][:cut], lines, texts, hits, j,
                                          page, value_box=True)
                return cand
            if cand is not None and (first is None or _rank(cand) > _rank(first)):
                first = cand
        if fdef.kind in _SPANNING:
            # A date printed in pieces ("1985" "年" "6" "月" "12" "日"): join the boxes to
            # the right on the same row, up to the next label.
            row = _row_right(lines, i)
            parts: list[int] = []
            for j in row:
                lead = _LEAD.match(texts[j])
                if hits[j] and hits[j][0].start <= (lead.end() if lead else 0):
                    break
                parts.append(j)
            if len(parts) > 1:
                conf = min(lines[j].confidence for j in parts)
                box = (lines[parts[0]].box[0], min(lines[j].box[1] for j in parts),
                       lines[parts[-1]].box[2], max(lines[j].box[3] for j in parts))
                cand = normalise(fdef, "".join(texts[j] for j in parts), conf, page, box)
                if _ok(cand):
                    return cand
        return first

    def _continue(self, fdef: FieldDef, ef: ExtractedField, raw: str,
                  lines: Sequence[TextLine], texts: list[str], hits: list[list[_Hit]],
                  i: int, page: int, *, value_box: bool = False) -> ExtractedField:
        """Append unlabelled continuation lines of a long address. `value_box`: line `i`
        holds only the value (a table cell), so a continuation starts under it."""
        me = lines[i]
        h = max(me.box[3] - me.box[1], 1.0)
        right_margin = max(ln.box[2] for ln in lines)
        parts = [raw]
        conf = me.confidence
        prev = me
        used = {i}
        for _ in range(2):
            # The nearest line starting below the previous part, in the value's column
            # (reading order is not trusted: a value box may come before its label).
            below = [j for j, ln in enumerate(lines)
                     if j not in used and ln.box[1] > prev.box[1] + 0.5 * h
                     and ln.box[0] < me.box[2] and ln.box[2] > me.box[0] - h]
            if not below:
                break
            j = min(below, key=lambda k: (lines[k].box[1], lines[k].box[0]))
            nxt = lines[j]
            if hits[j] or not texts[j]:
                break
            if find_id_candidates(texts[j]) or find_dates(texts[j]):
                break
            if nxt.box[1] - prev.box[3] > 1.2 * h or nxt.box[0] < me.box[0] - h:
                break
            # A wrapped value is indented under the value column, or the line above it
            # ran to the right margin; otherwise the next line is something else.
            indented = nxt.box[0] > me.box[0] + 0.5 * h or (
                value_box and abs(nxt.box[0] - me.box[0]) <= 0.5 * h)
            full = prev.box[2] >= 0.9 * right_margin
            if not (indented or full) or _LABELISH.match(texts[j]):
                break
            if any(k not in used and _vertical_overlap(nxt, lines[k]) > 0.5
                   and lines[k].box[2] <= nxt.box[0] for k in range(len(lines))):
                break  # something to its left on the same row: a new label and value
            parts.append(texts[j])
            used.add(j)
            conf = min(conf, nxt.confidence)
            prev = nxt
        if len(parts) == 1:
            return ef
        # A stray mark OCR put at the end of a wrapped line ("…3单元|") is not part of it.
        merged = normalise(fdef, "".join(clean_value(p) for p in parts), conf, page, me.box)
        if merged is None:
            return ef
        x0 = min(me.box[0], prev.box[0])
        x1 = max(me.box[2], prev.box[2])
        return ExtractedField(merged.value, conf, page, (x0, me.box[1], x1, prev.box[3]),
                              raw="".join(parts), valid=merged.valid)

    def _fallbacks(self, view: PageView, out: dict[str, ExtractedField],
                   allowed: set[str]) -> None:
        for name, fdef in self.fdefs.items():
            if name not in allowed or _ok(out.get(name)):
                continue
            found: ExtractedField | None = None
            if fdef.source == "title":
                found = self._from_title(fdef, view)
            if found is None:
                for pat in fdef.patterns:
                    found = self._by_pattern(fdef, pat, view)
                    if _ok(found):
                        break
            if found is None and fdef.by_shape:
                taken = {ef.value for n, ef in out.items() if n != name and ef.value}
                found = self._by_shape(fdef, view, taken)
            if found is not None:
                old = out.get(name)
                if old is None or (not _ok(old) and _ok(found)):
                    out[name] = found

    def _by_pattern(self, fdef: FieldDef, pat: str, view: PageView) -> ExtractedField | None:
        """The first match of a regex fallback whose value is good for the field's kind,
        on one line or across line breaks; else the first value it gave at all."""
        page = view.page
        lines = page.lines
        texts = view.texts
        first: ExtractedField | None = None
        rx = re.compile(pat)

        def matches(text: str) -> Iterable[re.Match[str]]:
            # Overlapping: a match that is no good for the kind ("授权委托书兹委托李四…")
            # must not hide one starting inside it ("委托李四…").
            pos = 0
            while (m := rx.search(text, pos)) is not None:
                yield m
                pos = m.start() + 1

        for i, t in enumerate(texts):
            for m in matches(t):
                cand = normalise(fdef, m.group(1) if m.groups() else m.group(0),
                                 lines[i].confidence, page.number, lines[i].box)
                if _ok(cand):
                    return cand
                first = first or cand
        if not lines:
            return first
        joined = "".join(texts)
        starts = []
        at = 0
        for t in texts:
            starts.append(at)
            at += len(t)
        for m in matches(joined):
            val = m.group(1) if m.groups() else m.group(0)
            i = max(k for k, s in enumerate(starts) if s <= m.start(m.lastindex or 0))
            cand = normalise(fdef, val, lines[i].confidence, page.number, lines[i].box)
            if _ok(cand):
                return cand
            first = first or cand
        return first

    def _from_title(self, fdef: FieldDef, view: PageView) -> ExtractedField | None:
        """The value printed in the document's own title ("XX有限公司章程"). Only a title
        line carrying one of the type's title words counts: a chapter heading on a later
        page ("第四章 组织机构") is not the document's title."""
        page = view.page
        cands = view.title_idx or list(range(min(2, len(page.lines))))
        for i in cands:
            if not any(find_keyword(w, view.texts[i]) for w in self.mt.cues.title):
                continue
            ef = normalise(fdef, view.texts[i], page.lines[i].confidence, page.number,
                           page.lines[i].box)
            if ef is not None and ef.value and len(ef.value) >= 4:
                return ef
        return None

    def _by_shape(self, fdef: FieldDef, view: PageView, taken: set[str]
                  ) -> ExtractedField | None:
        """Identifiers and terms printed without a label (the number on an ID card);
        values another field already holds are not candidates."""
        page = view.page
        hits: list[tuple[int, str]] = []
        for i, t in enumerate(view.texts):
            if fdef.kind in ("id_number", "id_or_credit_code"):
                hits += [(i, c) for c in find_id_candidates(t)]
                if i + 1 < len(view.texts):
                    # A number broken by the line end of running text.
                    pair = t + view.texts[i + 1]
                    hits += [(i, c) for c in find_id_candidates(pair)
                             if c not in t and c not in view.texts[i + 1]
                             and validate_id_number(c).valid]
            elif fdef.kind == "credit_code":
                hits += [(i, c) for c in find_credit_code_candidates(t)
                         if sum(ch.isdigit() for ch in c) >= 8]
            elif fdef.kind == "date_range":
                toks = find_dates(t)
                if len(toks) >= 2 or (len(toks) == 1 and toks[0].open_ended):
                    hits.append((i, t))
        results = []
        for i, raw in hits:
            ef = normalise(fdef, raw, page.lines[i].confidence, page.number, page.lines[i].box)
            if ef is not None and ef.value not in taken:
                results.append(ef)
        # None, or ambiguous: never guess between two numbers.
        return results[0] if len(results) == 1 else None


_EXTRACTORS: dict[int, tuple[MaterialType, Extractor]] = {}


def extractor_for(mt: MaterialType) -> Extractor:
    """The extractor of a material type, built once (material types are immutable)."""
    hit = _EXTRACTORS.get(id(mt))
    if hit is not None and hit[0] is mt:
        return hit[1]
    ex = Extractor(mt)
    if len(_EXTRACTORS) > 256:
        _EXTRACTORS.clear()
    _EXTRACTORS[id(mt)] = (mt, ex)
    return ex


def extract_document(mt: MaterialType, pages: Sequence[tuple[PageView, str | None]],
                     extractor: Extractor | None = None) -> dict[str, ExtractedField]:
    """Fields of one document: pages in order, the first good value of each field wins."""
    ex = extractor or extractor_for(mt)
    fields: dict[str, ExtractedField] = {}
    for view, side in pages:
        for name, ef in ex.extract_page(view, side).items():
            old = fields.get(name)
            if old is None or (not _ok(old) and _ok(ef)):
                fields[name] = ef
    # Keep the catalog's field order so reports read naturally.
    order = {f.name: k for k, f in enumerate(mt.fields)}
    return dict(sorted(fields.items(), key=lambda kv: order.get(kv[0], 999)))


def extract_fields(mt: MaterialType, page: PageText, side: str | None = None
                   ) -> dict[str, ExtractedField]:
    """Fields of a single page (convenience for callers and tests)."""
    return extractor_for(mt).extract_page(PageView.of(page), side)

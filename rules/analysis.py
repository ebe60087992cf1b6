"""From pages to documents: classify every page, group pages into documents, extract the
fields of each document.

Grouping rules (in page order, blank pages skipped without breaking adjacency):

* consecutive pages of a multi-page type form one document; a page carrying the type's
  title starts a new one;
* a page without any title that follows a multi-page document and does not clearly belong
  to another type is a continuation of it (an unknown page, or one that scores at least
  half as well for the open document's type);
* ID cards: a front and the adjacent back (either order) form one document; a page showing
  both sides is a document by itself; a new front after a complete pair starts a new one;
* pages may be shuffled between documents: an untitled fragment of a multi-page type joins
  the only titled document of that type, and unpaired ID card fronts and backs are paired
  afterwards (flagged for review when more than one pairing was possible);
* print outranks words: a page whose printed number follows the open document's, or that
  shares its running header or page count ("共3页"), continues it; a shuffled page printed
  as page n of exactly one titled multi-page document (that has no page n yet) joins it,
  whatever type its words suggested.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from rules.catalog import Catalog
from rules.classify import (
    BLANK,
    LOW_OCR_CONFIDENCE,
    UNKNOWN,
    PageResult,
    PageView,
    classify_view,
)
from rules.extract import extract_document, extractor_for
from rules.types import Document, PageClassification, PageText

FRAGMENT_SCORE = 0.5
"""An unclassifiable page leans to a multi-page type when that type scores at least this
much, and this much more than any other type."""
CONTINUATION_RATIO = 0.5
"""An untitled page joins the open multi-page document when its score for that document's
type is at least this fraction of its best score."""


@dataclass(frozen=True)
class Analysis:
    classifications: tuple[PageClassification, ...]
    documents: tuple[Document, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "classifications": [
                {"page": c.page, "type": c.material_type, "confidence": round(c.confidence, 4),
                 "side": c.side, "needs_review": c.needs_review, "reason": c.reason}
                for c in self.classifications
            ],
            "documents": [d.to_dict() for d in self.documents],
        }


@dataclass
class _Group:
    material_type: str
    members: list[PageResult] = field(default_factory=list)
    needs_review: bool = False

    @property
    def sides(self) -> set[str]:
        out: set[str] = set()
        for m in self.members:
            side = m.classification.side
            if side == "both":
                out |= {"front", "back"}
            elif side:
                out.add(side)
        return out

    @property
    def titled(self) -> bool:
        """Whether the group holds a first page (one carrying the type's title)."""
        return any(m.titled for m in self.members)

    @property
    def first_titled(self) -> bool:
        return bool(self.members) and self.members[0].titled

    @property
    def pages(self) -> list[int]:
        return [m.classification.page for m in self.members]


def _continuation(r: PageResult, of_type: str, after_page: int) -> PageResult:
    c = r.classification
    ts = r.scores.get(of_type)
    conf = max(0.5, min(0.9, (ts.score / 10.0) if ts else 0.5))
    cls = replace(c, material_type=of_type, confidence=round(conf, 4), side=None,
                  needs_review=False, reason=f"续页：接第{after_page}页")
    return PageResult(cls, r.scores, r.view)


# A page's printed number: "第2页 共3页", "第2页/共3页", "- 2 -", "—2—", "2/3".
_FOOTERS = (re.compile(r"第(\d{1,3})页(?:/?共\d{1,3}页)?$"),
            re.compile(r"^[-—–一]{1,2}(\d{1,3})[-—–一]{1,2}$"),
            re.compile(r"^(\d{1,2})/\d{1,2}$"))
_TOTAL = re.compile(r"共\d{1,3}页$")
_RUNNING_MAX = 24
"""A running header or footer is a short line; longer ones are content."""


def _edge_lines(r: PageResult) -> list[int]:
    """The top two and bottom two lines of a page by position."""
    lines = r.view.page.lines
    order = sorted((i for i, t in enumerate(r.view.texts) if t), key=lambda i: lines[i].box[1])
    return order[:2] + order[-2:] if len(order) > 4 else order


def _page_no(r: PageResult) -> int | None:
    """The page's own number from its footer or header (edge lines only)."""
    for i in reversed(_edge_lines(r)):
        text = r.view.texts[i]
        for pattern in _FOOTERS:
            m = pattern.search(text)
            if m:
                return int(m.group(1))
    return None


def _running(r: PageResult) -> set[str]:
    """Short lines at the page's edges other than its number: a form's edition or code
    ("（2025版）", "表1-2") printed on every page of it."""
    out = set()
    for i in _edge_lines(r):
        text = r.view.texts[i]
        if 2 <= len(text) <= _RUNNING_MAX and not any(p.search(text) for p in _FOOTERS):
            out.add(text)
        total = _TOTAL.search(text)
        if total:
            out.add(total.group(0))  # "共3页": the same document's count on every page
    return out


def _linked(r: PageResult, group: _Group) -> bool:
    """Whether the page's print says it is the next page of the group's last page: its
    number follows, or it shares a running header or footer with it while its number (if
    any) does not contradict."""
    last = group.members[-1]
    n, prev = _page_no(r), _page_no(last)
    if n is not None and prev is not None:
        return n == prev + 1
    return n != 1 and bool(_running(r) & _running(last))


def _fits(r: PageResult, group: _Group) -> bool:
    """Whether `r` can continue `group` by its printed page number: a document has one
    page 2, and a page 1 starts a document."""
    n = _page_no(r)
    if n is None:
        return True
    return n != 1 and n not in {_page_no(m) for m in group.members}


def _leaning(r: PageResult, catalog: Catalog) -> str | None:
    """The multi-page type an unclassifiable page clearly leans to, if any: positive
    evidence for it and clearly less for every other type."""
    ranked = sorted(r.scores.values(), key=lambda s: -s.score)
    if not ranked or ranked[0].score < FRAGMENT_SCORE:
        return None
    second = ranked[1].score if len(ranked) > 1 else 0.0
    mt = catalog.material_types[ranked[0].code]
    if not mt.multi_page or ranked[0].score - max(second, 0.0) < FRAGMENT_SCORE:
        return None
    return mt.code


def _fragment(r: PageResult, of_type: str) -> PageResult:
    c = r.classification
    cls = replace(c, material_type=of_type, confidence=0.5, side=None, needs_review=True,
                  reason=f"疑似{of_type}的续页（{c.reason}）")
    return PageResult(cls, r.scores, r.view)


def _group(results: list[PageResult], catalog: Catalog) -> tuple[list[_Group], list[PageResult]]:
    groups: list[_Group] = []
    out_results: list[PageResult] = []
    current: _Group | None = None
    previous_page: int | None = None  # last non-blank page number
    for r in results:
        c = r.classification
        t = c.material_type
        if t == BLANK:
            out_results.append(r)
            continue
        mt_cur = catalog.material_types.get(current.material_type) if current else None
        open_multi = current is not None and mt_cur is not None and mt_cur.multi_page
        adjacent = previous_page is not None and current is not None and (
            current.pages[-1] == previous_page)
        previous_page = c.page
        if (current is not None and open_multi and adjacent and t != BLANK
                and not r.has_any_title() and _linked(r, current) and _fits(r, current)):
            # Printed as the next page of the open document (its page number follows, or
            # the form's running header is on both): whatever its words suggest — a form's
            # page of a person's ID details reads much like an ID card.
            assert current is not None
            r = _continuation(r, current.material_type, current.pages[-1])
            current.members.append(r)
            out_results.append(r)
            continue
        if t == UNKNOWN:
            untitled = not r.has_any_title() and not r.view.has_title_line
            leaning = _leaning(r, catalog) if untitled else None
            if (current is not None and open_multi and adjacent and untitled
                    and leaning in (None, current.material_type) and _fits(r, current)):
                r = _continuation(r, current.material_type, current.pages[-1])
                current.members.append(r)
            elif leaning is not None:
                # A later page of a multi-page material away from its first page (shuffled
                # pages): a fragment of the type its few words point to, joined to that
                # document afterwards; for review if it cannot be joined.
                r = _fragment(r, leaning)
                current = _Group(leaning, [r], needs_review=True)
                groups.append(current)
            else:
                current = None
            out_results.append(r)
            continue
        mt = catalog.material_types[t]
        if mt.sides:
            side = c.side
            cur_sides = current.sides if current and current.material_type == t else None
            if side in ("front", "back") and cur_sides is not None and adjacent and (
                    cur_sides == ({"back"} if side == "front" else {"front"})):
                assert current is not None
                current.members.append(r)
            else:
                current = _Group(t, [r], needs_review=side is None)
                groups.append(current)
            out_results.append(r)
            continue
        if current is not None and adjacent and current.material_type == t and (
                mt.multi_page and not r.titled) and _fits(r, current):
            if c.needs_review and r.view.mean_conf >= LOW_OCR_CONFIDENCE:
                # Weak on its own, but it continues a document of the same type.
                r = PageResult(replace(c, confidence=max(c.confidence, 0.6), needs_review=False,
                                       reason=f"{c.reason}；续接第{current.pages[-1]}页"),
                               r.scores, r.view)
            current.members.append(r)
            out_results.append(r)
            continue
        if current is not None and open_multi and adjacent and current.material_type != t and _fits(
                r, current) and (
                not r.has_any_title() and not r.view.has_title_line):
            best = r.scores[t].score
            cur_score = r.scores[current.material_type].score
            if best > 0 and cur_score >= CONTINUATION_RATIO * best:
                r = _continuation(r, current.material_type, current.pages[-1])
                current.members.append(r)
                out_results.append(r)
                continue
        current = _Group(t, [r])
        groups.append(current)
        out_results.append(r)
    return groups, out_results


def _joined(m: PageResult, host: _Group) -> PageResult:
    c = m.classification
    cls = replace(c, confidence=max(c.confidence, 0.6), needs_review=False,
                  reason=f"续页：属于第{host.pages[0]}页起的文档")
    return PageResult(cls, m.scores, m.view)


def _print_host(m: PageResult, groups: Sequence[_Group], catalog: Catalog) -> _Group | None:
    """The one multi-page document a shuffled page is printed as part of: the page says it
    is page n (not 1), shares a running header or page count with the document, and the
    document has no page n yet."""
    n, running = _page_no(m), _running(m)
    if n is None or n == 1 or not running:
        return None
    hosts = [h for h in groups if h.titled and catalog.material_types[h.material_type].multi_page
             and any(running & _running(x) for x in h.members) and _fits(m, h)]
    return hosts[0] if len(hosts) == 1 else None


def _join(m: PageResult, host: _Group) -> None:
    host.members = sorted([*host.members, _continuation(m, host.material_type, host.pages[-1])],
                          key=lambda x: x.classification.page)


def _merge_fragments(groups: list[_Group], catalog: Catalog,
                     strays: Sequence[PageResult] = ()) -> list[_Group]:
    """Join shuffled pieces: untitled fragments of multi-page types, pages printed as part
    of a document (fragments of any type and unclassifiable `strays`), unpaired ID sides."""
    result = list(groups)
    for g in list(result):
        mt = catalog.material_types[g.material_type]
        if not mt.multi_page or g.titled:
            continue
        titled = [h for h in result if h is not g and h.material_type == g.material_type
                  and h.titled]
        if len(titled) == 1 and all(_fits(m, titled[0]) for m in g.members):
            host = titled[0]
            joined = [_joined(m, host) if (g.needs_review or m.classification.needs_review)
                      and m.view.mean_conf >= LOW_OCR_CONFIDENCE else m for m in g.members]
            host.members = sorted(host.members + joined, key=lambda m: m.classification.page)
            result.remove(g)
    for g in list(result):
        if len(g.members) == 1 and not g.titled:
            printed = _print_host(g.members[0], [h for h in result if h is not g], catalog)
            if printed is not None:
                _join(g.members[0], printed)
                result.remove(g)
            continue
        # A page a document took in as its continuation by its words alone, while its
        # print (page count, running header) is another document's.
        for m in [m for m in g.members if not m.titled]:
            if any(_running(m) & _running(x) for x in g.members if x.titled):
                continue  # printed like the document's own first page
            printed = _print_host(m, [h for h in result if h is not g], catalog)
            if printed is not None:
                g.members.remove(m)
                _join(m, printed)
        if not g.members:
            result.remove(g)  # every page of it went to the documents they are printed in
    grouped = {m.classification.page for g in result for m in g.members}
    for r in strays:
        if r.classification.page not in grouped:
            printed = _print_host(r, result, catalog)
            if printed is not None:
                _join(r, printed)
    for code, mt in catalog.material_types.items():
        if not mt.sides or set(mt.sides) != {"front", "back"}:
            continue
        fronts = [g for g in result if g.material_type == code and g.sides == {"front"}]
        backs = [g for g in result if g.material_type == code and g.sides == {"back"}]
        ambiguous = len(fronts) > 1 and len(backs) > 1
        while fronts and backs:
            f = fronts.pop(0)
            b = min(backs, key=lambda g: abs(g.pages[0] - f.pages[0]))
            backs.remove(b)
            f.members = sorted(f.members + b.members, key=lambda m: m.classification.page)
            f.needs_review = f.needs_review or ambiguous
            result.remove(b)
    result.sort(key=lambda g: g.pages[0])
    return result


def analyse_pages(pages: Sequence[PageText], catalog: Catalog) -> Analysis:
    """Classify, group and extract. Pure: same pages and catalog give the same result."""
    ordered = sorted(pages, key=lambda p: p.number)
    results = [classify_view(PageView.of(p), catalog) for p in ordered]
    groups, results = _group(results, catalog)
    groups = _merge_fragments(groups, catalog,
                              [r for r in results if r.classification.material_type == UNKNOWN])
    documents: list[Document] = []
    for n, g in enumerate(groups, start=1):
        mt = catalog.material_types[g.material_type]
        ex = extractor_for(mt)
        members = [(m.view, m.classification.side) for m in g.members]
        fields = extract_document(mt, members, ex)
        confs = [m.classification.confidence for m in g.members]
        documents.append(Document(
            id=f"d{n}",
            material_type=mt.code,
            pages=tuple(g.pages),
            confidence=round(sum(confs) / len(confs), 4),
            fields=fields,
            sides=tuple(s for s in ("front", "back") if s in g.sides) if mt.sides else (),
            needs_review=g.needs_review or any(m.classification.needs_review for m in g.members),
        ))
    # Pages joined to a document after grouping carry the document's type.
    joined = {m.classification.page: m.classification for g in groups for m in g.members}
    return Analysis(
        classifications=tuple(joined.get(r.classification.page, r.classification)
                              for r in results),
        documents=tuple(documents),
    )

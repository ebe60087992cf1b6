"""Rule-based page classification into the catalog's material types.

Each material type is scored by the cues its catalog entry declares. What decides a page
is mostly its title, so title words count most on a title line (near the top of the page,
or set in taller text), most of all when the title *ends* with them: "经营场所使用证明告知
承诺书" is a commitment letter, not a proof of premises. Negative words on a title line
argue strongly against a type (an application form mentions 营业执照 and 身份证 in its body,
but its title is 申请书). Matching tolerates one misread character in words of four or more
characters, because PP-OCR occasionally misreads one.

A page whose best score is weak is `unknown` with `needs_review=True`; a blank page is
never a document (it is reported as material type `blank`).
"""

from __future__ import annotations

import functools
import re
import statistics
from collections.abc import Iterable
from dataclasses import dataclass, field

from rules.catalog import Catalog, MaterialType
from rules.normalize import CHECK_MARKS, compact
from rules.types import PageClassification, PageText

UNKNOWN = "unknown"
BLANK = "blank"

MIN_SCORE = 4.0
"""Below this best score a page is `unknown`."""
REVIEW_CONFIDENCE = 0.5
"""Classifications less confident than this are flagged for review."""
LOW_OCR_CONFIDENCE = 0.6
"""A page whose mean OCR confidence is below this is flagged for review."""

# Scoring weights; see the module docstring for the reasoning.
W_TITLE_END = 10.0  # title line ends with the title word
W_TITLE_IN = 5.0  # title word inside a title line
W_TITLE_SHORT_LINE = 6.0  # a short line elsewhere that ends with the title word
W_TITLE_BODY = 1.5  # title word in the body text
W_STRONG = 2.0
W_WEAK = 0.5
W_PATTERN = 2.0
W_NEG_TITLE = -8.0
W_NEG_BODY = -1.0
MAX_STRONG = 6
MAX_WEAK = 4
MAX_NEG_BODY = 3

_TRAILING_NOTE = re.compile(r"(\([^()]{0,10}\)|\[[^\[\]]{0,10}\])+$")
_TITLE_PUNCT = ":;,.。，；、*·•\"'“”"


@functools.cache
def _fuzzy(keyword: str) -> re.Pattern[str] | None:
    """One-substitution pattern for keywords of four or more characters."""
    if len(keyword) < 4:
        return None
    alts = [re.escape(keyword[:i]) + "." + re.escape(keyword[i + 1 :]) for i in range(len(keyword))]
    return re.compile("|".join(alts))


def find_keyword(keyword: str, text: str, fuzzy: bool = True,
                 chars: frozenset[str] | None = None) -> tuple[int, int] | None:
    """Span of `keyword` in `text` (both compacted), allowing one misread character.

    `chars`, the set of characters of `text`, lets the fuzzy search be skipped cheaply
    when fewer than all but one of the keyword's characters occur in the text at all."""
    at = text.find(keyword)
    if at >= 0:
        return at, at + len(keyword)
    pat = _fuzzy(keyword) if fuzzy else None
    if pat is not None:
        if chars is not None and sum(ch not in chars for ch in keyword) > 1:
            return None
        m = pat.search(text)
        if m:
            return m.span()
    return None


@dataclass
class PageView:
    """A page prepared for scoring: compacted line texts and which lines look like titles."""

    page: PageText
    texts: list[str]
    title_idx: list[int]
    full: str
    mean_conf: float
    tall_idx: list[int] = field(default_factory=list)  # short lines in larger type
    chars: frozenset[str] = frozenset()  # every character on the page
    stripped: list[str] = field(default_factory=list)  # texts without title punctuation
    memo: dict[tuple[str, str, bool], object] = field(default_factory=dict)

    @property
    def has_title_line(self) -> bool:
        """Whether the page shows a heading in larger type (a first page, not a
        continuation), whatever it says."""
        return bool(self.tall_idx)

    @classmethod
    def of(cls, page: PageText) -> PageView:
        texts = [compact(ln.text) for ln in page.lines]
        lines = [(i, ln) for i, ln in enumerate(page.lines) if texts[i]]
        title_idx: list[int] = []
        tall_idx: list[int] = []
        if lines:
            heights = [max(ln.box[3] - ln.box[1], 0.0) for _, ln in lines]
            med = statistics.median(heights) if heights else 0.0
            top = min(ln.box[1] for _, ln in lines)
            bottom = max(ln.box[3] for _, ln in lines)
            span = bottom - top
            valued = _after_a_label(page, texts)
            for rank, (i, ln) in enumerate(lines):
                if len(texts[i]) > 32 or texts[i][0] in CHECK_MARKS or i in valued:
                    # A long line is prose; a line led by a check box is an option on a
                    # form ("☑居民身份证 □其他"), and one to the right of another box on its
                    # row is a value ("身份证件类型 | 居民身份证"): never a document's title.
                    continue
                h = ln.box[3] - ln.box[1]
                if span <= 0:
                    # No usable geometry: the first lines in reading order.
                    if rank < 2:
                        title_idx.append(i)
                    continue
                near_top = ln.box[1] - top <= 0.18 * span or rank < 2
                tall = med > 0 and h >= 1.35 * med
                if tall and len(lines) >= 2:
                    tall_idx.append(i)
                if near_top or tall:
                    title_idx.append(i)
        confs = [ln.confidence for _, ln in lines]
        full = "\n".join(t for t in texts if t)
        return cls(
            page=page,
            texts=texts,
            title_idx=title_idx,
            full=full,
            mean_conf=statistics.fmean(confs) if confs else 0.0,
            tall_idx=tall_idx,
            chars=frozenset(full),
            stripped=[_strip_title(t) if t and t[0] not in CHECK_MARKS and i not in valued
                      else "" for i, t in enumerate(texts)],
        )

    def title_texts(self) -> list[str]:
        return [self.texts[i] for i in self.title_idx]

    # Many material types share cue words (申请书 is a title of one and a negative of
    # most others), so lookups are memoised per page.
    def in_full(self, word: str, fuzzy: bool) -> bool:
        key = ("f", word, fuzzy)
        hit = self.memo.get(key)
        if hit is None:
            hit = self.memo[key] = find_keyword(word, self.full, fuzzy, self.chars) is not None
        return bool(hit)

    def in_title(self, word: str) -> bool:
        key = ("t", word, False)
        hit = self.memo.get(key)
        if hit is None:
            hit = self.memo[key] = any(find_keyword(word, self.texts[i], False)
                                       for i in self.title_idx)
        return bool(hit)

    def pattern_count(self, pattern: str) -> int:
        key = ("p", pattern, False)
        hit = self.memo.get(key)
        if hit is None:
            hit = self.memo[key] = len(re.findall(pattern, self.full, flags=re.MULTILINE))
        return hit if isinstance(hit, int) else 0

    def title_place(self, word: str) -> tuple[float, bool]:
        """The best placement of a title word: (weight, whether a title ends with it)."""
        key = ("w", word, False)
        hit = self.memo.get(key)
        if hit is not None:
            return hit  # type: ignore[return-value]
        best, at_end = 0.0, False
        for i in self.title_idx:
            st = self.stripped[i]
            span = find_keyword(word, st, chars=self.chars)
            if span is None:
                continue
            end = span[1] == len(st)
            value = W_TITLE_END if end else W_TITLE_IN
            if value > best:
                best, at_end = value, end
        if best < W_TITLE_SHORT_LINE:
            for st in self.stripped:
                if st and len(st) <= len(word) + 10 and st.endswith(word):
                    best, at_end = W_TITLE_SHORT_LINE, True
                    break
        if best < W_TITLE_BODY and self.in_full(word, True):
            best = W_TITLE_BODY
        self.memo[key] = (best, at_end)
        return best, at_end


def _after_a_label(page: PageText, texts: list[str]) -> set[int]:
    """Lines with a text box to their left on the same row that ends in the left half of
    the page."""
    lines = page.lines
    out: set[int] = set()
    for i, ln in enumerate(lines):
        if not texts[i]:
            continue
        h = max(ln.box[3] - ln.box[1], 1.0)
        for j, other in enumerate(lines):
            if j == i or not texts[j] or other.box[2] > ln.box[0] + 0.5 * h:
                continue
            top = max(ln.box[1], other.box[1])
            bottom = min(ln.box[3], other.box[3])
            if bottom - top >= 0.5 * min(h, other.box[3] - other.box[1]):
                out.add(i)
                break
    return out


@dataclass
class TypeScore:
    code: str
    score: float
    title_hit: str | None = None  # the title word found on a title line
    title_at_end: bool = False
    reasons: list[str] = field(default_factory=list)


@dataclass
class PageResult:
    """Classification of one page plus what grouping needs: all scores and title hits."""

    classification: PageClassification
    scores: dict[str, TypeScore]
    view: PageView

    @property
    def titled(self) -> bool:
        """Whether the page carries its type's title (a first page, not a continuation)."""
        ts = self.scores.get(self.classification.material_type)
        return bool(ts and ts.title_hit)

    def has_any_title(self) -> bool:
        return any(ts.title_hit and ts.score > 0 for ts in self.scores.values())


def _strip_title(text: str) -> str:
    return _TRAILING_NOTE.sub("", text.strip(_TITLE_PUNCT)).strip(_TITLE_PUNCT)


def _distinct_hits(words: Iterable[str], view: PageView, fuzzy: bool) -> list[str]:
    return [w for w in dict.fromkeys(words) if view.in_full(w, fuzzy and len(w) >= 4)]


def score_type(view: PageView, mt: MaterialType) -> TypeScore:
    cues = mt.cues
    ts = TypeScore(mt.code, 0.0)
    # Title words: the best single placement counts.
    best = 0.0
    for word in cues.title:
        value, at_end = view.title_place(word)
        if value > best:
            best, ts.title_hit, ts.title_at_end = value, word, at_end
    if best <= W_TITLE_BODY:
        ts.title_hit, ts.title_at_end = None, False
    if best:
        ts.reasons.append(f"标题“{ts.title_hit}”" if ts.title_hit else "正文含名称")
    ts.score += best
    strong = _distinct_hits(cues.strong, view, fuzzy=True)[:MAX_STRONG]
    ts.score += W_STRONG * len(strong)
    weak = _distinct_hits(cues.weak, view, fuzzy=False)[:MAX_WEAK]
    ts.score += W_WEAK * len(weak)
    pattern_hits = 0
    for pat in cues.patterns:
        n = view.pattern_count(pat)
        if n:
            pattern_hits += 1
            ts.score += W_PATTERN + (1.0 if n >= 6 else 0.0)
    if strong or pattern_hits:
        ts.reasons.append("关键词：" + "、".join(strong[:4]) if strong else "格式特征")
    neg_title = [w for w in cues.negative if view.in_title(w)]
    neg_body = [w for w in cues.negative if w not in neg_title and view.in_full(w, False)]
    ts.score += W_NEG_TITLE * min(len(neg_title), 2)
    ts.score += W_NEG_BODY * min(len(neg_body), MAX_NEG_BODY)
    if neg_title:
        ts.reasons.append("标题含“" + "、".join(neg_title) + "”")
        # A title that names another material is not this type's title.
        if ts.title_hit and not ts.title_at_end:
            ts.title_hit = None
    return ts


def detect_side(view: PageView, mt: MaterialType) -> str | None:
    """"front", "back" or "both" for two-sided materials (None if undecidable)."""
    if not mt.sides:
        return None
    counts = {side: len(_distinct_hits(words, view, fuzzy=False))
              for side, words in mt.sides.items()}
    present = [s for s, n in counts.items() if n >= 2]
    if len(present) >= 2:
        return "both"
    if present:
        return present[0]
    ranked = sorted(counts.items(), key=lambda kv: -kv[1])
    if ranked and ranked[0][1] > 0 and (len(ranked) == 1 or ranked[0][1] > ranked[1][1]):
        return ranked[0][0]
    return None


def classify_view(view: PageView, catalog: Catalog) -> PageResult:
    page = view.page
    if page.blank or not view.full.strip():
        cls = PageClassification(page.number, BLANK, 1.0, reason="空白页")
        return PageResult(cls, {}, view)
    scores = {code: score_type(view, mt) for code, mt in catalog.material_types.items()}
    ranked = sorted(scores.values(), key=lambda s: -s.score)
    best = ranked[0]
    second = ranked[1].score if len(ranked) > 1 else 0.0
    low_ocr = view.mean_conf < LOW_OCR_CONFIDENCE
    if best.score < MIN_SCORE:
        hint = (f"最接近{best.code}，得分{best.score:.1f}" if best.score > 0
                else "未发现任何材料的特征")
        cls = PageClassification(page.number, UNKNOWN, 0.0, needs_review=True,
                                 reason=f"无法判断材料类型（{hint}）")
        return PageResult(cls, scores, view)
    margin = (best.score - max(second, 0.0)) / best.score
    confidence = min(1.0, best.score / 12.0) * (0.5 + 0.5 * margin)
    if low_ocr:
        confidence *= 0.8
    mt = catalog.material_types[best.code]
    side = detect_side(view, mt)
    needs_review = (confidence < REVIEW_CONFIDENCE or low_ocr
                    or (mt.sides is not None and side is None))
    reason = "；".join(best.reasons)
    if needs_review and second > 0:
        reason += f"；次高：{ranked[1].code}"
    if low_ocr:
        reason += "；识别置信度低"
    cls = PageClassification(page.number, best.code, round(confidence, 4), side=side,
                             needs_review=needs_review, reason=reason)
    return PageResult(cls, scores, view)


def classify_page(page: PageText, catalog: Catalog) -> PageClassification:
    """Classify one page on its own (grouping may later refine continuation pages)."""
    return classify_view(PageView.of(page), catalog).classification

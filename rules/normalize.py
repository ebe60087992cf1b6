"""Text normalisation for OCR output: full-width to half-width, dates to ISO, open-ended
terms (长期), identifiers, and the small set of OCR character repairs we trust.

Everything here is a pure function over strings so that classification, extraction and
validation all see the same canonical text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

OPEN_END_WORDS: tuple[str, ...] = ("长期", "长久", "永久", "无固定期限", "不约定期限", "长期有效")
"""Words that mean "no end date". An end date read as one of these is stored as
`ExtractedField(value=None, open_ended=True, raw=<the word>)`."""

EMPTY_VALUES: frozenset[str] = frozenset(
    {"", "无", "/", "／", "-", "--", "—", "——", "空", "暂无", "不适用", "未填", "无委托",
     "N/A", "n/a"}
)
"""What clerks and applicants write into a form field that is deliberately left empty."""

# Full-width ASCII block and the ideographic space.
_FULLWIDTH: dict[int, int | str] = {code: code - 0xFEE0 for code in range(0xFF01, 0xFF5F)}
_FULLWIDTH[0x3000] = 0x20
# Punctuation OCR engines emit for the same thing; mapped to one form each.
_EXTRA: dict[int, int | str] = {
    ord(k): v
    for k, v in {
        "（": "(",
        "）": ")",
        "：": ":",
        "—": "-",
        "–": "-",
        "－": "-",
        "〜": "~",
        "～": "~",
        "﹣": "-",
        "【": "[",
        "】": "]",
    }.items()
}
# Traditional or variant forms PP-OCR sometimes outputs for the simplified characters
# printed on mainland documents (性別 for 性别). Mapped back so that labels, cue words and
# values compare equal; only characters whose simplified form is unambiguous.
VARIANTS: dict[str, str] = dict(zip(
    "別號證証碼書請營業執權產記關發機貿場區東門間戶內經實單為華國體圖稱話電簽託諾備錄條據貨銷務員財屬約議責險開辦項額資當長復"
    "龍鳳陳劉楊張趙吳鄭謝韓馮鄧蕭葉蘇盧錢孫顧廣慶瀋陽漢寧蘭濟遼鄉鎮縣處廳歲齡際氣紅綠園樓層團軍強偉麗豔靜潔穎莊傳貝興達遠飛鵬輝濤傑濱灣",
    "别号证证码书请营业执权产记关发机贸场区东门间户内经实单为华国体图称话电签托诺备录条据货销务员财属约议责险开办项额资当长复"
    "龙凤陈刘杨张赵吴郑谢韩冯邓萧叶苏卢钱孙顾广庆沈阳汉宁兰济辽乡镇县处厅岁龄际气红绿园楼层团军强伟丽艳静洁颖庄传贝兴达远飞鹏辉涛杰滨湾",
    strict=True,
))
_VARIANT_TABLE: dict[int, int | str] = {ord(k): v for k, v in VARIANTS.items()}
_HALFWIDTH_TABLE: dict[int, int | str] = {**_FULLWIDTH, **_EXTRA, **_VARIANT_TABLE}

_WS = re.compile(r"\s+")


def to_halfwidth(text: str) -> str:
    """Full-width digits, letters and ASCII punctuation become their half-width forms, and
    traditional variants OCR emits become the simplified form (`VARIANTS`)."""
    return text.translate(_HALFWIDTH_TABLE)


def compact(text: str) -> str:
    """Half-width and without any whitespace: OCR spacing inside Chinese text is noise."""
    return _WS.sub("", to_halfwidth(text))


def is_empty_value(text: str | None) -> bool:
    return text is None or compact(text).strip(":;,.。，；、") in EMPTY_VALUES


def is_open_end(text: str) -> bool:
    t = compact(text)
    return any(word in t for word in OPEN_END_WORDS)


# --- OCR repairs -------------------------------------------------------------------------

DIGIT_REPAIRS: dict[str, str] = {
    "O": "0", "o": "0", "D": "0", "Q": "0",
    "I": "1", "l": "1", "|": "1", "i": "1",
    "Z": "2", "z": "2",
    "S": "5", "s": "5",
    "B": "8",
}
"""Letters PP-OCR reads in place of digits. Used only where a digit must stand, and a
repaired identifier is accepted only if it then passes its check digit."""


def repair_digits(text: str) -> str:
    return "".join(DIGIT_REPAIRS.get(ch, ch) for ch in text)


# --- dates ---------------------------------------------------------------------------------

_CN_DIGITS = {"〇": 0, "零": 0, "○": 0, "O": 0, "一": 1, "二": 2, "三": 3, "四": 4, "五": 5,
              "六": 6, "七": 7, "八": 8, "九": 9}

_DATE_SEP = r"\s*[年./\-]\s*"
_DATE_RE = re.compile(
    r"(?<!\d)(\d{4})" + _DATE_SEP + r"(\d{1,2})" + r"\s*[月./\-]\s*"
    + r"(\d{1,2})(?!\d)\s*[日曰号]?"
)
_DATE8_RE = re.compile(r"(?<!\d)(\d{4})(\d{2})(\d{2})(?!\d)")
_CN_DATE_RE = re.compile(
    r"([〇零○O一二三四五六七八九]{4})年([一二三四五六七八九十]{1,3})月([一二三四五六七八九十]{1,3})[日号]"
)
# Digits in a date-looking run, so "2O24年" can be repaired without touching words.
_DATEISH = re.compile(r"[0-9OolIZSB]{1,4}(?=\s*[年月日./\-])|(?<=[年月./\-])[0-9OolIZSB]{1,2}")


def _cn_number(text: str) -> int:
    """"十二" -> 12, "二十一" -> 21, "三" -> 3 (for month and day)."""
    if "十" in text:
        tens, _, units = text.partition("十")
        high = _CN_DIGITS.get(tens, 1) if tens else 1
        return high * 10 + (_CN_DIGITS.get(units, 0) if units else 0)
    return _CN_DIGITS.get(text, 0)


def _make_date(y: int, m: int, d: int) -> date | None:
    try:
        return date(y, m, d)
    except ValueError:
        return None


@dataclass(frozen=True)
class DateToken:
    """A date or open-end marker found in a string, with its position (for ranges)."""

    start: int
    value: date | None  # None with open_ended=True for 长期
    open_ended: bool = False


def find_dates(text: str) -> list[DateToken]:
    """All dates and open-end words in `text`, in order of appearance."""
    t = to_halfwidth(text)
    t = _DATEISH.sub(lambda m: repair_digits(m.group(0)), t)
    found: list[DateToken] = []
    taken: list[tuple[int, int]] = []

    def free(a: int, b: int) -> bool:
        return all(b <= s or a >= e for s, e in taken)

    for m in _DATE_RE.finditer(t):
        d = _make_date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
        if d:
            found.append(DateToken(m.start(), d))
            taken.append(m.span())
    for m in _CN_DATE_RE.finditer(t):
        if not free(*m.span()):
            continue
        year = int("".join(str(_CN_DIGITS[c]) for c in m.group(1)))
        d = _make_date(year, _cn_number(m.group(2)), _cn_number(m.group(3)))
        if d:
            found.append(DateToken(m.start(), d))
            taken.append(m.span())
    for m in _DATE8_RE.finditer(t):
        if not free(*m.span()):
            continue
        y = int(m.group(1))
        d = _make_date(y, int(m.group(2)), int(m.group(3))) if 1900 <= y <= 2199 else None
        if d:
            found.append(DateToken(m.start(), d))
            taken.append(m.span())
    for word in OPEN_END_WORDS:
        for m in re.finditer(re.escape(word), t):
            if free(*m.span()):
                found.append(DateToken(m.start(), None, open_ended=True))
                taken.append(m.span())
    found.sort(key=lambda tok: tok.start)
    return found


def parse_date(text: str) -> date | None:
    """The first date in `text` ("2024年1月2日", "2024.01.02", "2024-1-2", "20240102",
    "二〇二四年一月二日"), or None."""
    for tok in find_dates(text):
        if tok.value is not None:
            return tok.value
    return None


def parse_range(text: str) -> tuple[DateToken | None, DateToken | None]:
    """Start and end of a term such as "2015.03.01-2035.03.01", "2010.01.01-长期",
    "自2024年1月1日起至2026年12月31日止", "2020年01月01日至长期" or just "长期"
    (which is an open end with no start)."""
    toks = find_dates(text)
    if not toks:
        return None, None
    if len(toks) >= 2:
        return toks[0], toks[1]
    tok = toks[0]
    if tok.open_ended:
        return None, tok
    # A lone date is the end if it is introduced by 至/到/止 and nothing precedes it.
    before = to_halfwidth(text)[: tok.start]
    if re.search(r"[至到~]\s*$", before) or before.strip().endswith("-"):
        return None, tok
    return tok, None


# --- identifiers -------------------------------------------------------------------------

_ID_RUN = re.compile(r"[0-9OolIZSBDQ|iz]{17}[0-9Xx×OolIZSBDQ]")


def find_id_candidates(text: str) -> list[str]:
    """18-character runs that could be a resident ID number once digits are repaired."""
    t = compact(text)
    return [m.group(0) for m in _ID_RUN.finditer(t)]


_USCC_RUN = re.compile(r"(?<![0-9A-Z])[0-9A-Z]{18}(?![0-9A-Z])")


def find_credit_code_candidates(text: str) -> list[str]:
    t = compact(text).upper()
    return [m.group(0) for m in _USCC_RUN.finditer(t)]


_PUNCT_EDGES = " :;,.。，；、|[]\"'“”‘’《》<>-_~"


def clean_value(text: str) -> str:
    """A value with separators and stray punctuation removed from both ends (brackets
    only when unbalanced, so "有限责任公司(自然人投资或控股)" keeps its closing one)."""
    value = compact(text).strip(_PUNCT_EDGES)
    while True:
        before = value
        if value.endswith(")") and value.count(")") > value.count("("):
            value = value[:-1].strip(_PUNCT_EDGES)
        if value.startswith("(") and value.count("(") > value.count(")"):
            value = value[1:].strip(_PUNCT_EDGES)
        if value.startswith("(") and value.endswith(")") and value.count("(") == 1:
            value = value[1:-1].strip(_PUNCT_EDGES)
        if value == before:
            return value


CHECK_MARKS = "☑☒☐□■▪▫◻◼⬜⬛√✓✔✗✘"
"""Check boxes and tick marks: printed on forms beside options and names, and read by OCR
into the neighbouring value ("☑段强军"). They never belong to a name or a number."""
TICKED_MARKS = "☑☒■▪◼⬛√✓✔"
_MARKS_RE = re.compile(f"[{CHECK_MARKS}]")


def strip_marks(text: str) -> str:
    return _MARKS_RE.sub("", text)


def ticked_options(text: str) -> str:
    """The options ticked in a check-box list ("☑设立 □变更 □备案" -> "设立"); the text
    itself when it holds no ticked box."""
    parts = re.split(f"([{CHECK_MARKS}])", text)
    if len(parts) < 3 or not any(p and p in TICKED_MARKS for p in parts):
        return strip_marks(text).strip()
    chosen = [parts[k + 1].strip(" ;；,，、") for k in range(1, len(parts) - 1, 2)
              if parts[k] in TICKED_MARKS and parts[k + 1].strip()]
    return "、".join(chosen) if chosen else strip_marks(text).strip()


_CJK = "\u4e00-\u9fff"
_DOTS = "·•‧・.．\u2027\u00b7\u30fb\u2022"
_NAME_DOT = re.compile(f"(?<=[{_CJK}])\\s*[{_DOTS}]\\s*(?=[{_CJK}])")
_BRACKETED = re.compile(r"\([^()]{0,12}\)")
_HONORIFIC = re.compile(r"(?:同志|先生|女士)$")
# Words that are never part of a person's name but often sit next to one on a form or in
# a letter ("代理人无转委托权", "上述受托人", "授权委托书").
_NOT_NAME_WORDS = ("委托", "代理", "受托", "申请", "公司", "单位", "上述", "本人", "我方",
                   "签字", "签名", "盖章", "姓名", "信息", "证件", "号码", "身份", "电话",
                   "地址", "日期", "法定", "负责人", "经办", "承诺", "如下", "同意", "办理",
                   "事项", "权限", "有限", "名称", "性别", "民族", "出生", "年龄", "职务",
                   "住址")
MAX_NAME_CHARS = 5
"""A Chinese name without a middle dot has two to five characters (复姓 + two)."""


def person_name(text: str) -> str | None:
    """A person's name as printed on an ID card: check boxes, bracketed notes, punctuation,
    spaces and Latin or digit noise removed; a middle dot between the parts of a
    transliterated name kept as "·" (OCR reads it as ".", "•" or a space). None when
    what remains cannot be a name (one character, a sentence, a role word)."""
    t = strip_marks(to_halfwidth(text))
    t = _BRACKETED.sub("", t)
    t = _NAME_DOT.sub("·", t)
    if "·" not in t and len(re.sub(f"[^{_CJK}]", "", t)) > MAX_NAME_CHARS:
        # Too long for a name without a dot: a space read where the dot was.
        t = re.sub(f"(?<=[{_CJK}])\\s+(?=[{_CJK}])", "·", t.strip())
    if re.search(f"[{_CJK}]", t):
        t = re.sub(f"[^{_CJK}·]", "", t).strip("·")
        t = _HONORIFIC.sub("", t)
        plain = t.replace("·", "")
        longest = 20 if "·" in t else MAX_NAME_CHARS
        if not 2 <= len(plain) <= longest or any(w in t for w in _NOT_NAME_WORDS):
            return None
        return t
    latin = " ".join(re.sub(r"[^A-Za-z ]", " ", t).split())
    return latin.upper() if len(latin.replace(" ", "")) >= 3 else None


def same_text(a: str | None, b: str | None) -> bool:
    """Equality the way a clerk would judge it: ignoring spacing, width, punctuation and
    check marks, and case for identifiers."""
    if a is None or b is None:
        return False
    strip = re.compile(r"[\s:;,.。，；、()\[\]\"'“”‘’《》<>\-_~·•" + CHECK_MARKS + "]")
    return strip.sub("", to_halfwidth(a)).upper() == strip.sub("", to_halfwidth(b)).upper()

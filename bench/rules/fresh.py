# ruff: noqa: E501  (data tables of Chinese text read better unwrapped)
"""The FRESH split of the rules benchmark: packets nobody tunes the rules on.

The team tunes the rules on the `tune` and `heldout` splits; this split was written after
both, by someone who had not seen the rules' failures, from what service-centre materials
look like rather than from what the rules do. It shares only the benchmark's plumbing with
the other splits (people, companies, licences, leases, property certificates, articles,
food-safety rules and layouts come from `generator.py`); everything a clerk reads to
decide the agent and identity slots is drawn here:

* application forms: the SAMR 公司登记（备案）申请书 over three pages (基本信息 / 设立,
  法定代表人信息 with a blank 身份证件复印件粘贴处, 联络员信息 and the 指定代表或者共同
  委托代理人 section with 委托期限 and 委托权限 check boxes); the 食品经营许可申请书 (cover,
  申请人声明, 申请人基本情况, a 法定代表人（负责人）/食品安全管理人员 table whose manager
  carries an ID number of their own); the 个体工商户登记（备案）申请书 (经营者 as a table
  headed by its labels, 家庭经营 members with their ID numbers, an optional 委托代理人);
  ruled tables whose role labels are printed vertically in a merged cell (法/定/代/表/人);
  forms whose captions stand under or to the right of the value ("张三（法定代表人姓名）");
  two-column forms; headers with form codes and footers "第 1 页 共 3 页"; handwritten-
  style values with spaces between the characters; ID numbers written in groups;
* powers of attorney: "本单位/本人现委托……", a 委托人 / 受托人 block with 委托事项及权限
  check boxes and 委托期限, a table with 委托人 and 受托人 columns, the SAMR table form
  with its 粘贴处 and no ID number; an individual's letter that carries both ID numbers;
* ID card copies: both sides on one page (either side first) or on two pages captioned
  人像面 / 国徽面, headed by the holder's role, with notes such as "仅供办理……使用，再复印
  无效" and a signature;
* commitment letters as a ruled table, as a sentence, or stamped by the company;
* its own noisy mode (`noisy_page`: split lines, '：' read as ':' or lost, characters
  dropped at the end of prose lines that carry no value, '□' read as '口', 'X' as 'x',
  '·' as '・', confidences with a genuinely low tail) and scan degradations (`scan`:
  binarised copies, a fold, a copier's gutter shadow).

A value read below the confidence threshold keeps its truth: the engine should say
`needs_review`, which the benchmark counts as a miss but never as a false complete.

`build_packet(seed, index)` is deterministic; its random stream is keyed
"bench-rules-fresh/...", and `python -m bench.rules` runs it on seed + SEED_OFFSET.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import date, timedelta

import numpy as np
from PIL import Image

from bench.rules import generator as G
from bench.rules.generator import DocSpec, Packet, PageSpec
from bench.rules.layout import Cell, grid, reading_order
from bench.rules.samples_api import cn_date, flow_document
from bench.rules.samples_api import samples as S
from ocr.types import OcrLine, OcrPage
from rules.types import ReusableCertificate

SEED_OFFSET = 2000
"""`python -m bench.rules --split fresh` runs on seed + this offset."""

# --- people --------------------------------------------------------------------------------

# Names as the card prints them: transliterated names with a middle dot, four-character
# names, compound surnames.
_DOTTED_FIRST = ("玛依拉", "阿依古丽", "热依汗古丽", "努尔买买提", "艾克拜尔", "米日古丽",
                 "买合木提", "阿力木江", "吾斯曼", "扎西", "巴图", "格桑")
_DOTTED_LAST = ("阿不都热依木", "吐尔洪", "肉孜", "托合提", "依明江", "沙吾提", "多吉",
                "朝克图", "卓玛", "那木吉拉")
_FOUR = ("欧阳晓燕", "司徒文杰", "上官婉清", "慕容子昂", "皇甫嘉怡", "诸葛明远", "尉迟思琪",
         "长孙佳宁", "公孙伟业", "令狐静雯")


def _fresh_name(rng: random.Random, base: str) -> str:
    r = rng.random()
    if r < 0.07:
        return rng.choice(_DOTTED_FIRST) + "·" + rng.choice(_DOTTED_LAST)
    if r < 0.11:
        return rng.choice(_FOUR)
    return base


def person(rng: random.Random, on: date, **kw: object) -> S.Person:
    p = G.make_person(rng, on, **kw)  # type: ignore[arg-type]
    return replace(p, name=_fresh_name(rng, p.name))


def _hand(name: str, rng: random.Random, rate: float = 0.3) -> str:
    """A name as written into a form by hand: "张 三", "欧阳 晓燕", or with "•" for "·"."""
    if "·" in name:
        return name.replace("·", "•") if rng.random() < 0.2 else name
    if rng.random() < rate and len(name) <= 4:
        sep = rng.choice((" ", "  ", "\u3000"))
        return sep.join(name)
    return name


def _id_written(idn: str, rng: random.Random, rate: float = 0.12) -> str:
    """An ID number as some applicants write it, in groups: "350102 19850312 2417"."""
    if rng.random() < rate:
        return f"{idn[:6]} {idn[6:14]} {idn[14:]}"
    return idn


# --- drawing -------------------------------------------------------------------------------

W, H = S.A4_SIZE
X0, X1 = 150, W - 150


class _Sheet:
    """One A4 page in one font; records every text box like the other splits' canvases."""

    def __init__(self, rng: random.Random, size: int | None = None) -> None:
        self.cv = S.Canvas(S.A4_SIZE)
        self.serif = rng.random() < 0.4
        self.size = size or rng.choice((32, 34, 36))

    def text(self, x: float, y: float, t: str, size: int | None = None, *, bold: bool = False,
             align: str = "l") -> S.Box:
        return self.cv.text(x, y, t, size or self.size, bold=bold, serif=self.serif, align=align)

    def para(self, x: float, y: float, t: str, width: float, *, indent: int = 0,
             size: int | None = None, bold: bool = False, gap: int = 18) -> float:
        s = size or self.size
        first = S.wrap_text(t, s, width - indent, serif=self.serif)[:1]
        rest = t[len(first[0]):] if first else ""
        lines = first + (S.wrap_text(rest, s, width, serif=self.serif) if rest else [])
        for k, ln in enumerate(lines):
            self.text(x + (indent if k == 0 else 0), y, ln, s, bold=bold)
            y += s + gap
        return y

    def title(self, t: str, y: float, size: int = 60) -> float:
        self.text(W / 2, y, t, size, bold=True, align="m")
        return y + size + 50

    def chrome(self, code: str, footer: str, n: int, total: int) -> None:
        """A form code in the header and the page number in the footer."""
        if code:
            self.text(X0, 90, code, 26)
        if total > 1:
            self.text(W / 2, H - 130, footer.format(n=n, t=total), 28, align="m")

    def page(self, material_type: str, side: str | None = None) -> PageSpec:
        return PageSpec(self.cv.image, list(self.cv.texts), material_type, side)


_FOOTERS = ("第 {n} 页 共 {t} 页", "第{n}页 共{t}页", "第{n}页/共{t}页", "- {n} -")


def _chrome(rng: random.Random, sheets: Sequence[_Sheet], *, skip_first: bool = False) -> None:
    """One form code and one page-number format for all of a document's pages."""
    code, footer = rng.choice(_FORM_CODES), rng.choice(_FOOTERS)
    for n, s in enumerate(sheets, 1):
        if n > 1 or not skip_first:
            s.chrome(code, footer, n, len(sheets))


def _box(ticked: bool) -> str:
    return "☑" if ticked else "□"


def _stacked(sh: _Sheet, y: float, groups: Sequence[tuple[str, Sequence[tuple[str, str]]]],
             widths: tuple[int, int, int] = (100, 400, 854)) -> float:
    """A ruled table whose group label is printed vertically, one character a line, in a
    merged cell at the left (法/定/代/表/人), with label | value rows beside it. A group
    without a label has its row labels across the first two columns."""
    size, pad = sh.size, 18
    xs = [X0, X0 + widths[0], X0 + widths[0] + widths[1], X0 + sum(widths)]
    top = y
    sh.cv.line(xs[0], y, xs[3], y, 4)
    for glabel, rows in groups:
        gy0 = y
        lx = xs[1] if glabel else xs[0]
        laid = []
        for label, value in rows:
            ll = S.wrap_text(label, size, xs[2] - lx - 2 * pad, serif=sh.serif)
            vl = S.wrap_text(value, size, xs[3] - xs[2] - 2 * pad, serif=sh.serif) if value else []
            laid.append((ll, vl, max(len(ll), len(vl), 1) * (size + 16) + 2 * pad - 16))
        need = len(glabel) * (size + 10) + 2 * pad
        total = sum(h for _, _, h in laid)
        extra = (need - total) / len(laid) if glabel and total < need else 0.0
        for k, (ll, vl, h0) in enumerate(laid):
            h = h0 + extra
            for i, ln in enumerate(ll):
                sh.text(lx + pad, y + pad + i * (size + 16), ln, bold=True)
            for i, ln in enumerate(vl):
                sh.text(xs[2] + pad, y + pad + i * (size + 16), ln)
            y += h
            last = k == len(laid) - 1
            sh.cv.line(xs[0] if last else lx, y, xs[3], y, 4 if last else 3)
        if glabel:
            gh = len(glabel) * (size + 10) - 10
            cy = gy0 + (y - gy0 - gh) / 2
            for ch in glabel:
                sh.text((xs[0] + xs[1]) / 2, cy, ch, bold=True, align="m")
                cy += size + 10
            sh.cv.line(xs[1], gy0, xs[1], y, 3)
        sh.cv.line(xs[2], gy0, xs[2], y, 3)
    sh.cv.line(xs[0], top, xs[0], y, 4)
    sh.cv.line(xs[3], top, xs[3], y, 4)
    return y


# --- the form's data -----------------------------------------------------------------------


@dataclass
class FormData:
    item_code: str
    applicant_name: str
    applicant_id: str | None
    address: str
    phone: str
    signed: date
    rep: S.Person | None = None
    agent: S.Person | None = None
    form_rep_id: str = ""  # what the form says the legal rep's number is (may be mistyped)
    form_op_id: str = ""
    operator: S.Person | None = None
    business_name: str = ""
    liaison: S.Person | None = None
    manager: S.Person | None = None  # 食品安全管理人员
    family: list[S.Person] = field(default_factory=list)
    scope: str = ""
    capital: str = ""
    kind: str = ""


def _truth(f: FormData, *, date_labelled: bool) -> dict[str, str | None]:
    t: dict[str, str | None] = {
        "applicant_name": f.applicant_name,
        "applicant_id": f.applicant_id,
        "legal_rep_name": f.rep.name if f.rep else None,
        "legal_rep_id_number": f.form_rep_id if f.rep else None,
        "agent_name": f.agent.name if f.agent else None,
        "agent_id_number": f.agent.id_number if f.agent else None,
        "address": f.address,
    }
    if f.business_name:
        t["business_name"] = f.business_name
    if date_labelled:
        t["date"] = f.signed.isoformat()
    return t


TITLES = {
    "company-establishment": ("公司登记（备案）申请书", "公司设立登记申请书", "有限责任公司设立登记申请表"),
    "food-business-license": ("食品经营许可申请书", "食品经营许可申请表（新办）"),
    "individual-business-registration": ("个体工商户登记（备案）申请书", "个体工商户设立登记申请表"),
}
ITEM_NAMES = {
    "company-establishment": ("有限责任公司设立登记", "公司设立登记"),
    "food-business-license": ("食品经营许可证核发", "食品经营许可（新办）"),
    "individual-business-registration": ("个体工商户设立登记", "个体工商户登记"),
}
_FORM_CODES = ("", "", "表1", "附件1", "SCJG-DJ-01", "（2025版）")


# --- application forms: the SAMR company form ------------------------------------------------


def samr_company_form(rng: random.Random, f: FormData) -> tuple[list[PageSpec], dict[str, str | None]]:
    assert f.rep is not None
    widths = [330, 420, 250, 354]
    pages: list[_Sheet] = []

    sh = _Sheet(rng, rng.choice((30, 32, 34)))
    y = sh.title("公司登记（备案）申请书", 170)
    sh.text(X0, y, "注：请仔细阅读本申请书《填写说明》，按要求填写。", 26)
    y += 60
    rows: list[list[Cell]] = [
        [Cell(f"{_box(True)}基本信息", span=4, bold=True)],
        [Cell("名　　称", bold=True), Cell(f.applicant_name, span=3)],
        [Cell("名称预先核准文号/统一社会信用代码", bold=True), Cell("", span=3)],
        [Cell("住　　所", bold=True), Cell(f.address, span=3)],
        [Cell("生产经营地", bold=True), Cell(f.address if rng.random() < 0.6 else "同住所", span=3)],
        [Cell("联系电话", bold=True), Cell(f.phone), Cell("邮政编码", bold=True),
         Cell(f"{rng.randrange(100000, 999999)}")],
        [Cell(f"{_box(True)}设立", span=4, bold=True)],
        [Cell("法定代表人姓名", bold=True), Cell(_hand(f.rep.name, rng)), Cell("职　　务", bold=True),
         Cell(f"{_box(True)}执行董事 {_box(False)}董事长 {_box(False)}经理")],
        [Cell("注册资本", bold=True), Cell(f.capital), Cell("公司类型", bold=True), Cell(f.kind)],
        [Cell("经营范围", bold=True), Cell(f.scope, span=3)],
        [Cell("经营期限", bold=True), Cell(f"{_box(True)}长期 {_box(False)}____年", span=3)],
        [Cell("申请执照副本数量", bold=True), Cell(f"{rng.choice((1, 2))}个", span=3)],
    ]
    grid(sh.cv, X0, y, widths, rows, size=sh.size, serif=sh.serif)
    pages.append(sh)

    sh = _Sheet(rng, rng.choice((30, 32, 34)))
    y = sh.title("法定代表人信息", 180, 48)
    rows = [
        [Cell("姓　　名", bold=True), Cell(_hand(f.rep.name, rng)), Cell("固定电话", bold=True), Cell("")],
        [Cell("移动电话", bold=True), Cell(f.rep.phone), Cell("电子邮箱", bold=True), Cell("")],
        [Cell("身份证件类型", bold=True), Cell(f"{_box(True)}居民身份证 {_box(False)}其他", span=3)],
        [Cell("身份证件号码", bold=True), Cell(_id_written(f.form_rep_id, rng), span=3)],
    ]
    y = grid(sh.cv, X0, y, widths, rows, size=sh.size, serif=sh.serif)
    sh.cv.rect(X0, y, X1, y + 700, 3)
    sh.text(W / 2, y + 330, "（身份证件复印件粘贴处）", 30, align="m")
    y += 780
    sh.text(X0 + 40, y, f"法定代表人签字：{_hand(f.rep.name, rng, 0.5)}")
    sh.text(X1 - 40, y + 80, "年　　月　　日" if rng.random() < 0.3 else cn_date(f.signed), align="r")
    pages.append(sh)

    sh = _Sheet(rng, rng.choice((30, 32, 34)))
    y = sh.title("联络员信息", 180, 48)
    lia = f.liaison or f.rep
    rows = [
        [Cell("姓　　名", bold=True), Cell(lia.name), Cell("固定电话", bold=True), Cell("")],
        [Cell("移动电话", bold=True), Cell(lia.phone), Cell("电子邮箱", bold=True), Cell("")],
        [Cell("身份证件类型", bold=True), Cell(f"{_box(True)}居民身份证", span=3)],
        [Cell("身份证件号码", bold=True), Cell(lia.id_number, span=3)],
    ]
    y = grid(sh.cv, X0, y, widths, rows, size=sh.size, serif=sh.serif) + 70
    head = rng.choice(("指定代表或者共同委托代理人", "指定代表或者委托代理人信息", "委托代理人（经办人）信息"))
    if f.agent is not None:
        a = f.agent
        start, until = f.signed, f.signed + timedelta(days=rng.choice((30, 60, 90)))
        sh.text(X0, y, head, bold=True)
        y += sh.size + 30
        rows = [
            [Cell("姓　　名", bold=True), Cell(_hand(a.name, rng)), Cell("移动电话", bold=True), Cell(a.phone)],
            [Cell("身份证件类型", bold=True), Cell(f"{_box(True)}居民身份证 {_box(False)}其他", span=3)],
            [Cell("身份证件号码", bold=True), Cell(_id_written(a.id_number, rng), span=3)],
            [Cell("委托期限", bold=True), Cell(f"自{cn_date(start)}至{cn_date(until)}", span=3)],
            [Cell("委托权限", bold=True), Cell(
                f"1.同意{_box(True)}不同意{_box(False)}核对登记材料中的复印件并签署核对意见；"
                f"2.同意{_box(True)}不同意{_box(False)}修改有关表格的填写错误；"
                f"3.同意{_box(rng.random() < 0.7)}不同意{_box(False)}领取营业执照和有关文书", span=3)],
        ]
        y = grid(sh.cv, X0, y, widths, rows, size=sh.size, serif=sh.serif) + 60
    elif rng.random() < 0.5:  # the section printed and left empty
        sh.text(X0, y, head, bold=True)
        y += sh.size + 30
        rows = [
            [Cell("姓　　名", bold=True), Cell(""), Cell("移动电话", bold=True), Cell("")],
            [Cell("身份证件号码", bold=True), Cell("", span=3)],
            [Cell("委托期限", bold=True), Cell("自　　年　　月　　日至　　年　　月　　日", span=3)],
        ]
        y = grid(sh.cv, X0, y, widths, rows, size=sh.size, serif=sh.serif) + 60
    y = sh.para(X0, y, "申请人承诺：本申请人和签字人承诺提交的材料文件和填报的信息真实有效，"
                "并承担相应的法律责任。", X1 - X0, indent=2 * sh.size) + 70
    sh.text(X1 - 40, y, f"法定代表人签字：{_hand(f.rep.name, rng, 0.5)}", align="r")
    sh.text(X1 - 40, y + 80, cn_date(f.signed), align="r")
    pages.append(sh)
    _chrome(rng, pages)
    # Phones: the company's, the legal rep's and the liaison's are all printed; the date
    # stands under a signature without a label.
    return [s.page("application_form") for s in pages], _truth(f, date_labelled=False)


# --- the food-licence form -------------------------------------------------------------------


def food_form(rng: random.Random, f: FormData) -> tuple[list[PageSpec], dict[str, str | None]]:
    assert f.rep is not None and f.manager is not None
    date_text = G.fmt_date(f.signed, rng)
    cover = _Sheet(rng, 40)
    cover.title(rng.choice(TITLES["food-business-license"]), 520, 84)
    cover.text(260, 1150, f"申请人名称（签章）：{f.applicant_name}")
    cover.cv.line(260 + S.text_width("申请人名称（签章）：", 40, serif=cover.serif), 1150 + 52, X1, 1150 + 52, 2)
    cover.text(260, 1280, f"申请日期：{date_text}")
    if rng.random() < 0.6:
        cover.cv.seal(1150, 1180, 140, f.applicant_name, "")
    cover.text(W / 2, 2050, "国家市场监督管理总局制", 34, align="m")

    sh = _Sheet(rng, rng.choice((30, 32, 34)))
    y = sh.title("申请人声明", 180, 48)
    y = sh.para(X0, y, "本申请人已了解食品经营许可相关法律法规的规定，知晓食品安全主体责任。"
                "本申请人承诺：所填写的申请书内容和提交的申请材料真实、有效，复印件与原件一致；"
                "如有不实，愿意承担相应的法律责任。", X1 - X0, indent=2 * sh.size) + 40
    sh.text(X1 - 300, y, "申请人（签章）：", align="r")
    y += sh.size + 30
    sh.text(X1 - 300, y, f"法定代表人（负责人）签字：{_hand(f.rep.name, rng, 0.5)}", align="r")
    y += sh.size + 30
    sh.text(X1 - 300, y, f"日期：{date_text}", align="r")
    y += sh.size + 70
    sh.text(X0, y, "一、申请人基本情况", bold=True)
    y += sh.size + 24
    kinds = f"{_box(True)}食品销售经营者 {_box(False)}餐饮服务经营者 {_box(False)}单位食堂"
    if rng.random() < 0.5:
        kinds = f"{_box(False)}食品销售经营者 {_box(True)}餐饮服务经营者 {_box(False)}单位食堂"
    rows = [
        [Cell("申请人名称", bold=True), Cell(f.applicant_name, span=3)],
        [Cell("统一社会信用代码", bold=True), Cell(f.applicant_id or "", span=3)],
        [Cell("法定代表人（负责人）", bold=True), Cell(_hand(f.rep.name, rng), span=3)],
        [Cell("住　　所", bold=True), Cell(f.address, span=3)],
        [Cell("经营场所", bold=True), Cell(f.address, span=3)],
        [Cell("主体业态", bold=True), Cell(kinds, span=3)],
        [Cell("经营项目", bold=True), Cell(f"{_box(True)}预包装食品销售（含冷藏冷冻食品） {_box(rng.random() < 0.5)}散装食品销售 {_box(rng.random() < 0.5)}热食类食品制售", span=3)],
        [Cell("联系人", bold=True), Cell(f.manager.name), Cell("联系电话", bold=True), Cell(f.manager.phone)],
    ]
    grid(sh.cv, X0, y, [380, 380, 250, 344], rows, size=sh.size, serif=sh.serif)

    sh2 = _Sheet(rng, rng.choice((28, 30)))
    y = 200.0
    sh2.text(X0, y, "二、法定代表人（负责人）、食品安全管理人员信息", bold=True)
    y += sh2.size + 30
    m = f.manager
    people = [
        [Cell("人员类别", bold=True), Cell("姓名", bold=True), Cell("职务", bold=True),
         Cell("身份证件号码", bold=True), Cell("移动电话", bold=True)],
        [Cell("法定代表人（负责人）", bold=True), Cell(_hand(f.rep.name, rng)),
         Cell(rng.choice(("执行董事", "总经理", "董事长"))), Cell(f.form_rep_id), Cell(f.rep.phone)],
        [Cell("食品安全管理人员", bold=True), Cell(m.name), Cell("食品安全管理员"),
         Cell(m.id_number), Cell(m.phone)],
    ]
    if rng.random() < 0.4:
        people[1:] = [people[2], people[1]]
    y = grid(sh2.cv, 110, y, [310, 230, 240, 420, 234], people, size=sh2.size, serif=sh2.serif) + 60
    sh2.text(X0, y, "三、其他需要说明的情况", bold=True)
    sh2.cv.rect(X0, y + 60, X1, y + 460, 3)
    sh2.text(X0 + 30, y + 90, "无")
    pages = [cover, sh, sh2]
    _chrome(rng, pages, skip_first=True)
    return [s.page("application_form") for s in pages], _truth(f, date_labelled=True)


# --- the individual business form ------------------------------------------------------------


def individual_form(rng: random.Random, f: FormData) -> tuple[list[PageSpec], dict[str, str | None]]:
    op = f.operator
    assert op is not None
    date_text = G.fmt_date(f.signed, rng)
    sh = _Sheet(rng, rng.choice((30, 32, 34)))
    y = sh.title(rng.choice(TITLES["individual-business-registration"]), 170)
    sh.text(X0, y, f"申请类型：{_box(True)}设立登记 {_box(False)}变更登记 {_box(False)}备案 {_box(False)}注销登记")
    y += sh.size + 40
    widths = [330, 420, 250, 354]
    y = grid(sh.cv, X0, y, widths, [
        [Cell(f"{_box(True)}基本信息", span=4, bold=True)],
        [Cell("名　　称", bold=True), Cell(f.business_name, span=3)],
        [Cell("经营场所", bold=True), Cell(f.address, span=3)],
    ], size=sh.size, serif=sh.serif)
    family_run = bool(f.family)
    if rng.random() < 0.5:  # 经营者 as a table headed by its labels
        sh.text(X0, y + 30, "经营者", bold=True)
        y += sh.size + 60
        y = grid(sh.cv, X0, y, [300, 160, 520, 374], [
            [Cell("姓名", bold=True), Cell("性别", bold=True), Cell("身份证件号码", bold=True), Cell("联系电话", bold=True)],
            [Cell(_hand(op.name, rng)), Cell(op.sex), Cell(_id_written(f.form_op_id, rng)), Cell(op.phone)],
        ], size=sh.size, serif=sh.serif)
    else:
        y = grid(sh.cv, X0, y, widths, [
            [Cell("经营者姓名", bold=True), Cell(_hand(op.name, rng)), Cell("性　　别", bold=True), Cell(op.sex)],
            [Cell("身份证件类型", bold=True), Cell(f"{_box(True)}居民身份证 {_box(False)}其他", span=3)],
            [Cell("身份证件号码", bold=True), Cell(_id_written(f.form_op_id, rng), span=3)],
            [Cell("联系电话", bold=True), Cell(op.phone), Cell("电子邮箱", bold=True), Cell("")],
        ], size=sh.size, serif=sh.serif)
    y = grid(sh.cv, X0, y, widths, [
        [Cell("组成形式", bold=True), Cell(f"{_box(not family_run)}个人经营 {_box(family_run)}家庭经营", span=3)],
        [Cell("经营范围", bold=True), Cell(f.scope, span=3)],
        [Cell("从业人数", bold=True), Cell(f"{rng.randrange(1, 8)}人"), Cell("资金数额", bold=True), Cell(f"{rng.choice((2, 5, 10, 20))}万元")],
    ], size=sh.size, serif=sh.serif) + 50
    sheets = [sh]
    if f.family or f.agent:
        sh = _Sheet(rng, sh.size)
        sheets.append(sh)
        y = 200.0
    if f.family:
        sh.text(X0, y, "参加经营的家庭成员（家庭经营的填写）", bold=True)
        y += sh.size + 30
        rows = [[Cell("姓名", bold=True), Cell("与经营者关系", bold=True), Cell("身份证件号码", bold=True)]]
        for m in f.family:
            rows.append([Cell(m.name), Cell(rng.choice(("配偶", "子女", "父母", "兄弟姐妹"))), Cell(m.id_number)])
        y = grid(sh.cv, X0, y, [400, 360, 594], rows, size=sh.size, serif=sh.serif) + 60
    if f.agent:
        a = f.agent
        sh.text(X0, y, rng.choice(("委托代理人信息", "委托代理人")), bold=True)
        y += sh.size + 30
        y = grid(sh.cv, X0, y, widths, [
            [Cell("姓　　名", bold=True), Cell(_hand(a.name, rng)), Cell("联系电话", bold=True), Cell(a.phone)],
            [Cell("身份证件号码", bold=True), Cell(a.id_number, span=3)],
        ], size=sh.size, serif=sh.serif) + 60
    y = sh.para(X0, y, "本人承诺：所提交的申请材料真实、合法、有效，如有虚假，愿承担相应的法律责任。",
                X1 - X0, indent=2 * sh.size) + 60
    sh.text(X1 - 40, y, f"经营者签字：{_hand(op.name, rng, 0.5)}", align="r")
    sh.text(X1 - 40, y + 80, f"日期：{date_text}", align="r")
    _chrome(rng, sheets)
    return [s.page("application_form") for s in sheets], _truth(f, date_labelled=True)


# --- generic families: stacked labels, captions, two columns -----------------------------------


def _people_rows(f: FormData, rng: random.Random) -> list[tuple[str, list[tuple[str, str]]]]:
    groups: list[tuple[str, list[tuple[str, str]]]] = []
    if f.operator is not None:
        op = f.operator
        groups.append(("个体工商户", [("名称", f.business_name), ("经营场所", f.address),
                                     ("经营范围", f.scope)]))
        groups.append(("经营者", [("姓名", _hand(op.name, rng)), ("身份证件号码", _id_written(f.form_op_id, rng)),
                                 ("联系电话", op.phone)]))
    else:
        rows = [("名称", f.applicant_name)]
        if f.applicant_id:
            rows.append(("统一社会信用代码", f.applicant_id))
        rows.append(("住所", f.address))
        groups.append(("申请人", rows))
        assert f.rep is not None
        groups.append(("法定代表人",
                       [("姓名", _hand(f.rep.name, rng)), ("身份证件号码", _id_written(f.form_rep_id, rng)),
                        ("移动电话", f.rep.phone)]))
    if f.agent is not None:
        groups.append((rng.choice(("委托代理人", "经办人")),
                       [("姓名", _hand(f.agent.name, rng)), ("身份证件号码", _id_written(f.agent.id_number, rng)),
                        ("移动电话", f.agent.phone)]))
    return groups


def stacked_form(rng: random.Random, f: FormData) -> tuple[list[PageSpec], dict[str, str | None]]:
    sh = _Sheet(rng)
    date_text = G.fmt_date(f.signed, rng)
    y = sh.title(rng.choice(TITLES[f.item_code]), 180)
    groups: list[tuple[str, Sequence[tuple[str, str]]]] = [("", [("申请事项", rng.choice(ITEM_NAMES[f.item_code]))])]
    groups += _people_rows(f, rng)
    y = _stacked(sh, y, groups) + 60
    y = sh.para(X0, y, "以上填报内容真实、准确，提交的材料复印件与原件一致。", X1 - X0, indent=2 * sh.size) + 70
    signer = f.operator.name if f.operator else f.applicant_name
    sh.text(X1 - 40, y, f"申请人（签字或盖章）：{signer}", align="r")
    sh.text(X1 - 40, y + 80, f"填表日期：{date_text}", align="r")
    _chrome(rng, [sh])
    return [sh.page("application_form")], _truth(f, date_labelled=True)


def captions_form(rng: random.Random, f: FormData) -> tuple[list[PageSpec], dict[str, str | None]]:
    """Values on lines with their caption in brackets under them, or to their right."""
    sh = _Sheet(rng)
    date_text = G.fmt_date(f.signed, rng)
    item_name = rng.choice(ITEM_NAMES[f.item_code])
    y = sh.title(rng.choice(TITLES[f.item_code]), 190)
    y = sh.para(X0, y, f"根据有关法律法规的规定，申请人现申请办理{item_name}，并如实填报以下信息：",
                X1 - X0, indent=2 * sh.size) + 50
    fields: list[tuple[str, str]] = []
    if f.operator is not None:
        fields += [(f.business_name, "个体工商户名称"), (_hand(f.operator.name, rng), "经营者姓名"),
                   (_id_written(f.form_op_id, rng), "经营者身份证件号码")]
    else:
        assert f.rep is not None
        fields.append((f.applicant_name, "申请人名称"))
        if f.applicant_id:
            fields.append((f.applicant_id, "统一社会信用代码"))
        fields += [(_hand(f.rep.name, rng), "法定代表人姓名"),
                   (_id_written(f.form_rep_id, rng), "法定代表人身份证件号码")]
    if f.agent is not None:
        fields += [(_hand(f.agent.name, rng), "委托代理人姓名"), (f.agent.id_number, "委托代理人身份证件号码")]
    fields += [(f.address, "经营场所" if f.operator else "住所"), (f.phone, "联系电话"),
               (date_text, "申请日期")]
    right = rng.random() < 0.4
    cap = sh.size - 8
    half = (X1 - X0 - 80) / 2
    k = 0
    while k < len(fields):
        value, caption = fields[k]
        pair = (not right and k + 1 < len(fields)
                and S.text_width(value, sh.size) < half - 40
                and S.text_width(fields[k + 1][0], sh.size) < half - 40)
        if right:
            vw = S.text_width(value, sh.size, serif=sh.serif)
            if vw > X1 - X0 - 420:
                y = sh.para(X0 + 20, y, value, X1 - X0 - 40, gap=22)
                sh.text(X1, y, f"（{caption}）", cap, align="r")
                sh.cv.line(X0, y - 8, X1 - 340, y - 8, 2)
                y += cap + 50
            else:
                sh.text(X0 + 20, y, value)
                sh.cv.line(X0, y + sh.size + 12, X0 + vw + 60, y + sh.size + 12, 2)
                sh.text(X0 + vw + 90, y + 4, f"（{caption}）", cap)
                y += sh.size + 64
            k += 1
            continue
        cols: list[tuple[float, float, tuple[str, str]]] = [(X0, X0 + half, fields[k])]
        if pair:
            cols.append((X0 + half + 80, X1, fields[k + 1]))
        bottom = y
        for cx0, cx1, (v, c) in cols:
            lines = S.wrap_text(v, sh.size, cx1 - cx0 - 20, serif=sh.serif)
            ty = y
            for ln in lines:
                sh.text((cx0 + cx1) / 2, ty, ln, align="m")
                ty += sh.size + 18
            sh.cv.line(cx0, ty, cx1, ty, 2)
            sh.text((cx0 + cx1) / 2, ty + 14, f"（{c}）", cap, align="m")
            bottom = max(bottom, ty + 14 + cap + 50)
        y = bottom
        k += len(cols)
    y += 60
    sh.text(X1 - 40, y, "申请人（签字）：", align="r")
    _chrome(rng, [sh])
    return [sh.page("application_form")], _truth(f, date_labelled=True)


def two_column_form(rng: random.Random, f: FormData) -> tuple[list[PageSpec], dict[str, str | None]]:
    sh = _Sheet(rng, rng.choice((30, 32)))
    date_text = G.fmt_date(f.signed, rng)
    y0 = sh.title(rng.choice(TITLES[f.item_code]), 180)
    sh.text(X0, y0, f"申请事项：{rng.choice(ITEM_NAMES[f.item_code])}")
    y0 += sh.size + 50
    mid = (X0 + X1) / 2
    left: list[tuple[str, bool]] = []
    right: list[tuple[str, bool]] = []
    if f.operator is not None:
        op = f.operator
        left += [("个体工商户信息", True), (f"名称：{f.business_name}", False),
                 (f"经营场所：{f.address}", False), (f"经营范围：{f.scope}", False)]
        right += [("经营者信息", True), (f"姓名：{_hand(op.name, rng)}", False), (f"性别：{op.sex}", False),
                  (f"身份证号码：{_id_written(f.form_op_id, rng)}", False), (f"联系电话：{op.phone}", False)]
    else:
        assert f.rep is not None
        left += [("申请人信息", True), (f"名称：{f.applicant_name}", False)]
        if f.applicant_id:
            left.append((f"统一社会信用代码：{f.applicant_id}", False))
        left += [(f"住所：{f.address}", False), (f"联系电话：{f.phone}", False)]
        right += [("法定代表人信息", True), (f"姓名：{_hand(f.rep.name, rng)}", False),
                  (f"身份证号码：{_id_written(f.form_rep_id, rng)}", False)]
    if f.agent is not None:
        right += [(rng.choice(("委托代理人信息", "经办人信息")), True), (f"姓名：{_hand(f.agent.name, rng)}", False),
                  (f"身份证号码：{f.agent.id_number}", False)]
    bottom = y0
    for (cx0, cx1), entries in (((X0, mid - 40), left), ((mid + 40, X1), right)):
        y = y0
        for text, bold in entries:
            y = sh.para(cx0, y, text, cx1 - cx0, bold=bold, gap=16) + (14 if bold else 8)
        bottom = max(bottom, y)
    sh.cv.line(mid, y0 - 10, mid, bottom, 2)
    y = bottom + 60
    y = sh.para(X0, y, "申请人声明：本申请书所填内容真实，所附材料复印件与原件一致。", X1 - X0) + 60
    signer = f.operator.name if f.operator else f.applicant_name
    sh.text(X1 - 40, y, f"申请人（签章）：{signer}", align="r")
    sh.text(X1 - 40, y + 80, f"申请日期：{date_text}", align="r")
    _chrome(rng, [sh])
    return [sh.page("application_form")], _truth(f, date_labelled=True)


def application_form(rng: random.Random, f: FormData) -> DocSpec:
    own = {"company-establishment": samr_company_form, "food-business-license": food_form,
           "individual-business-registration": individual_form}[f.item_code]
    family = G._pick(rng, {"own": 40, "stacked": 20, "captions": 20, "two_column": 20})
    make = {"own": own, "stacked": stacked_form, "captions": captions_form,
            "two_column": two_column_form}[family]
    pages, truth = make(rng, f)
    return DocSpec("application_form", pages, truth, f"form:{family}")


# --- powers of attorney ----------------------------------------------------------------------


@dataclass
class Mandate:
    principal: str  # a company's name or the operator's name
    principal_id: str  # the operator's ID number; "" for a company being set up
    rep: S.Person | None  # who signs for a company
    matter: str
    authority: str
    signed: date


def poa_prose(rng: random.Random, m: Mandate, agent: S.Person) -> DocSpec:
    aid, an = agent.id_number, _hand(agent.name, rng, 0.15)
    if m.principal_id:  # an individual
        body = rng.choice((
            f"本人{m.principal}（身份证号码：{m.principal_id}）现委托{an}（身份证号码：{aid}）代为办理{m.matter}。",
            f"本人{m.principal}，身份证号码{m.principal_id}，因事务繁忙不能亲自办理，现委托{an}（公民身份号码：{aid}）作为我的代理人，代为办理{m.matter}。",
        ))
        sign = [S.Block("right", f"委托人（签字）：{m.principal}")]
    else:
        body = rng.choice((
            f"本单位{m.principal}现委托{an}（身份证号：{aid}）前往贵局代为办理{m.matter}。",
            f"本单位现委托{an}同志，身份证号码{aid}，作为本单位代理人，代为办理{m.matter}。",
            f"{m.principal}（以下简称“本单位”）现委托{an}（公民身份号码：{aid}）全权代表本单位办理{m.matter}的申请、材料提交及证照领取等事宜。",
        ))
        sign = [S.Block("right", f"委托单位（盖章）：{m.principal}")]
        if m.rep is not None and rng.random() < 0.6:
            sign.append(S.Block("right", f"法定代表人（签字）：{m.rep.name}"))
    if rng.random() < 0.4:
        sign.append(S.Block("right", f"受托人（签字）：{agent.name}"))
    blocks = [
        S.Block("title", rng.choice(("授权委托书", "委托书"))),
        S.Block("line", f"致：{m.authority}"),
        S.Block("gap", extra="20"),
        S.Block("para", body),
        S.Block("para", "受托人在委托权限内签署的文件和办理的事项，委托人均予以承认，并承担相应的法律责任。受托人无转委托权。"),
        S.Block("para", f"委托期限：{cn_date(m.signed)}至{cn_date(m.signed + timedelta(days=60))}。"),
        S.Block("gap", extra="90"),
        *sign,
        S.Block("right", cn_date(m.signed)),
    ]
    fd = flow_document("power_of_attorney", blocks, {"agent_name": agent.name, "agent_id_number": aid},
                       footer=False)
    return G._doc(fd, "poa")


def poa_blocks(rng: random.Random, m: Mandate, agent: S.Person) -> DocSpec:
    """委托人 block, 受托人 block, 委托事项及权限 with check boxes, 委托期限."""
    blocks = [S.Block("title", "授权委托书"), S.Block("gap", extra="10"),
              S.Block("line", f"委托人：{m.principal}")]
    if m.principal_id:
        blocks.append(S.Block("line", f"身份证号码：{m.principal_id}"))
    elif m.rep is not None:
        blocks.append(S.Block("line", f"法定代表人：{m.rep.name}"))
    blocks.append(S.Block("gap", extra="16"))
    if rng.random() < 0.5:
        blocks += [S.Block("line", "受托人："),
                   S.Block("line", f"姓　　名：{_hand(agent.name, rng, 0.2)}　　性别：{agent.sex}")]
    else:
        blocks.append(S.Block("line", f"受托人：{_hand(agent.name, rng, 0.2)}　　性别：{agent.sex}"))
    blocks += [
        S.Block("line", f"身份证件号码：{agent.id_number}"),
        S.Block("line", f"联系电话：{agent.phone}"),
        S.Block("gap", extra="16"),
        S.Block("line", "委托事项及权限："),
        S.Block("line", f"1.{_box(True)}代为提交{m.matter}的申请材料；"),
        S.Block("line", f"2.{_box(True)}代为核对登记材料中的复印件并签署核对意见；"),
        S.Block("line", f"3.{_box(rng.random() < 0.6)}代为修改有关表格的填写错误；"),
        S.Block("line", f"4.{_box(rng.random() < 0.5)}代为领取营业执照和有关文书。"),
        S.Block("line", f"委托期限：自{cn_date(m.signed)}起至{cn_date(m.signed + timedelta(days=90))}止"),
        S.Block("gap", extra="90"),
        S.Block("right", f"委托人（签字/盖章）：{m.principal}"),
        S.Block("right", f"日期：{G.fmt_date(m.signed, rng)}"),
    ]
    fd = flow_document("power_of_attorney", blocks, {
        "principal": G._half(m.principal), "agent_name": agent.name,
        "agent_id_number": agent.id_number}, footer=False)
    return G._doc(fd, "poa")


def poa_parties_table(rng: random.Random, m: Mandate, agent: S.Person) -> DocSpec:
    """A table with a 委托人 column and a 受托人 column."""
    sh = _Sheet(rng)
    y = sh.title("授权委托书", 200, 64)
    rows = [
        [Cell(""), Cell("委托人", bold=True), Cell("受托人", bold=True)],
        [Cell("名称/姓名", bold=True), Cell(m.principal), Cell(_hand(agent.name, rng, 0.2))],
        [Cell("身份证件号码", bold=True), Cell(m.principal_id or "——"), Cell(agent.id_number)],
        [Cell("联系电话", bold=True), Cell(m.rep.phone if m.rep else ""), Cell(agent.phone)],
        [Cell("住址", bold=True), Cell(""), Cell(agent.address)],
    ]
    y = grid(sh.cv, X0, y, [300, 527, 527], rows, size=sh.size, serif=sh.serif) + 60
    y = sh.para(X0, y, f"委托事项：代为办理{m.matter}。", X1 - X0) + 10
    y = sh.para(X0, y, f"委托权限：{_box(True)}提交申请材料 {_box(True)}签收文书 {_box(False)}领取证照", X1 - X0) + 10
    y = sh.para(X0, y, f"委托期限：{cn_date(m.signed)}至{cn_date(m.signed + timedelta(days=30))}", X1 - X0) + 100
    sh.text(X1 - 40, y, "委托人（签字/盖章）：", align="r")
    sh.text(X1 - 40, y + 80, cn_date(m.signed), align="r")
    return DocSpec("power_of_attorney", [sh.page("power_of_attorney")],
                   {"agent_name": agent.name, "agent_id_number": agent.id_number}, "poa")


def poa_samr_table(rng: random.Random, m: Mandate, agent: S.Person) -> DocSpec:
    """The SAMR letter as a ruled table, with a paste area for the ID copy and no number."""
    sh = _Sheet(rng, rng.choice((30, 32)))
    y = sh.title("指定代表或者共同委托代理人授权委托书", 190, 52)
    until = m.signed + timedelta(days=90)
    powers = (f"1.办理{m.principal}的{_box(False)}名称预先核准 {_box(True)}设立 {_box(False)}变更 {_box(False)}注销 {_box(False)}备案；"
              f"2.同意{_box(True)}不同意{_box(False)}核对登记材料中的复印件并签署核对意见；"
              f"3.同意{_box(True)}不同意{_box(False)}修改企业自备文件的错误；"
              f"4.同意{_box(True)}不同意{_box(False)}修改有关表格的填写错误；"
              f"5.同意{_box(rng.random() < 0.7)}不同意{_box(False)}领取营业执照和有关文书。")
    rows = [
        [Cell("申请人", bold=True), Cell(m.principal)],
        [Cell("指定代表或者委托代理人", bold=True), Cell(_hand(agent.name, rng, 0.2))],
        [Cell("委托事项及权限", bold=True), Cell(powers)],
        [Cell("指定或者委托的有效期限", bold=True), Cell(f"自{cn_date(m.signed)}至{cn_date(until)}")],
        [Cell("联系电话", bold=True), Cell(agent.phone)],
    ]
    y = grid(sh.cv, X0, y, [360, 994], rows, size=sh.size, serif=sh.serif)
    sh.cv.rect(X0, y, X1, y + 560, 3)
    sh.text(W / 2, y + 250, "（指定代表或委托代理人身份证件复印件粘贴处）", 28, align="m")
    y += 660
    sh.text(X1 - 40, y, "（申请人盖章或签字）", align="r")
    sh.text(X1 - 40, y + 80, cn_date(m.signed), align="r")
    return DocSpec("power_of_attorney", [sh.page("power_of_attorney")], {
        "principal": G._half(m.principal), "agent_name": agent.name, "agent_id_number": None}, "poa")


def power_of_attorney(rng: random.Random, m: Mandate, agent: S.Person) -> DocSpec:
    styles = {"prose": 30, "blocks": 30, "parties": 20}
    if not m.principal_id:
        styles["samr"] = 20
    style = G._pick(rng, styles)
    make = {"prose": poa_prose, "blocks": poa_blocks, "parties": poa_parties_table,
            "samr": poa_samr_table}[style]
    doc = make(rng, m, agent)
    doc.tag = f"poa:{style}"
    return doc


# --- ID card copies --------------------------------------------------------------------------


def _card_fields(p: S.Person) -> dict[str, str | None]:
    return {
        "name": p.name, "sex": p.sex, "ethnicity": p.ethnicity,
        "birth_date": p.birth_date.isoformat(),
        "address": "".join(S.wrap_text(p.address, 38, 500)[:3]),  # as much as the card holds
        "id_number": p.id_number, "issuing_authority": p.id_issuer,
        "valid_from": p.id_valid_from.isoformat(),
        "valid_until": p.id_valid_until.isoformat() if p.id_valid_until else None,
    }


_ROLE_HEADINGS = {
    "legal_rep": ("法定代表人身份证复印件", "法定代表人身份证明", "法定代表人身份证（正反面）"),
    "agent": ("委托代理人身份证复印件", "经办人身份证复印件", "受托人身份证明"),
    "operator": ("经营者身份证复印件", "经营者身份证明"),
}


def id_copy(rng: random.Random, p: S.Person, role: str, purpose: str, *,
            front_only: bool = False) -> DocSpec:
    front = S.render_id_card_front(p, rng)
    back = S.render_id_card_back(p, rng)
    cw, ch = S.CARD_SIZE
    x = (W - cw) // 2 + rng.randrange(-50, 50)
    heading = rng.choice(_ROLE_HEADINGS[role]) if rng.random() < 0.4 else ""
    note = ""
    if rng.random() < 0.5:
        note = rng.choice((f"仅供办理{purpose}使用，再复印无效", "此复印件与原件一致",
                           f"本复印件仅用于{purpose}，他用无效", "经核对与原件相符"))
    signed = rng.random() < 0.4
    pages: list[PageSpec] = []

    def finish(sh: _Sheet, y: float) -> None:
        if note:
            sh.text(X0 + 60, y, note, 36)
            y += 70
        if signed:
            sh.text(X1 - 80, y, _hand(p.name, rng, 0.3), 40, align="r")

    if front_only or rng.random() < 0.4:
        sides = [("front", front)] if front_only else [("front", front), ("back", back)]
        if not front_only and rng.random() < 0.25:
            sides.reverse()
        for side, card in sides:
            sh = _Sheet(rng)
            y = 180.0
            if heading:
                sh.title(heading, y, 48)
            cap = {"front": rng.choice(("（人像面）", "正面", "身份证正面")),
                   "back": rng.choice(("（国徽面）", "反面", "身份证反面"))}[side]
            if rng.random() < 0.6:
                sh.text(x, 330, cap, 32)
            top = 420 + rng.randrange(0, 120)
            sh.cv.paste(card, x, top)
            finish(sh, top + ch + 80)
            pages.append(sh.page("id_card", side))
    else:
        sh = _Sheet(rng)
        if heading:
            sh.title(heading, 150, 48)
        order = [front, back] if rng.random() < 0.75 else [back, front]
        top = 300 + rng.randrange(0, 50)
        sh.cv.paste(order[0], x, top)
        sh.cv.paste(order[1], x, top + ch + 110 + rng.randrange(0, 60))
        finish(sh, top + 2 * ch + 220)
        pages.append(sh.page("id_card", "both"))
    fields = _card_fields(p)
    if front_only:
        for k in ("issuing_authority", "valid_from", "valid_until"):
            fields.pop(k)
    return DocSpec("id_card", pages, fields, f"id:{role}")


# --- commitment letters ----------------------------------------------------------------------

_MATERIALS = {
    "premises": ("住所使用证明", "经营场所使用证明", "住所（经营场所）使用证明"),
    "food_rules": ("食品安全管理制度", "食品安全规章制度"),
}
_PROMISE = {  # what is promised, without its subject
    "premises": "对申报的住所（经营场所）享有合法使用权，该场所符合有关法律法规的规定",
    "food_rules": "已按照法律法规的要求建立健全食品安全管理制度，并在经营中严格执行",
}


def commitment(rng: random.Random, signer: S.Person, item_name: str, what: str, signed: date,
               company: str = "") -> DocSpec:
    material = rng.choice(_MATERIALS[what])
    style = rng.choice(("table", "sentence", "stamped") if company else ("table", "sentence"))
    if style == "table":
        sh = _Sheet(rng)
        y = sh.title(rng.choice(("告知承诺书", "证明事项告知承诺书")), 200, 62)
        rows = [
            [Cell("事项名称", bold=True), Cell(item_name)],
            [Cell("承诺人", bold=True), Cell(signer.name)],
            [Cell("身份证件号码", bold=True), Cell(signer.id_number)],
            [Cell("承诺替代的材料", bold=True), Cell(material)],
            [Cell("承诺内容", bold=True), Cell(f"承诺人{_PROMISE[what]}。现以本承诺书代替提交{material}，"
                                               "如承诺不实，愿意承担相应的法律责任。")],
        ]
        y = grid(sh.cv, X0, y, [380, 974], rows, size=sh.size, serif=sh.serif) + 120
        sh.text(X1 - 40, y, f"承诺人（签字）：{_hand(signer.name, rng, 0.3)}", align="r")
        sh.text(X1 - 40, y + 80, f"日期：{G.fmt_date(signed, rng)}", align="r")
        return DocSpec("commitment_letter", [sh.page("commitment_letter")], {
            "signer_name": signer.name, "signer_id_number": signer.id_number}, "commitment")
    if style == "sentence":
        title = rng.choice(("承诺书", f"{material}告知承诺书"))
        blocks = [
            S.Block("title", title),
            S.Block("gap", extra="20"),
            S.Block("para", f"本人{signer.name}（身份证号码：{signer.id_number}）在申请办理{item_name}时郑重承诺："
                            f"{_PROMISE[what]}。"
                            f"本人自愿以告知承诺方式代替提交{material}。"),
            S.Block("para", "如有虚假承诺，本人愿意承担由此产生的一切法律责任。"),
            S.Block("gap", extra="100"),
            S.Block("right", f"承诺人：{signer.name}"),
            S.Block("right", G.fmt_date(signed, rng, allow_upper=True)),
        ]
        fd = flow_document("commitment_letter", blocks, {
            "signer_name": signer.name, "signer_id_number": signer.id_number}, footer=False)
        return G._doc(fd, "commitment")
    blocks = [
        S.Block("title", f"{material}告知承诺书"),
        S.Block("gap", extra="20"),
        S.Block("para", f"本单位{company}在申请办理{item_name}过程中承诺{_PROMISE[what]}，"
                        f"现以告知承诺方式免于提交{material}。"),
        S.Block("para", "本单位知晓虚假承诺的法律后果，如有不实，愿意承担相应的法律责任。"),
        S.Block("gap", extra="100"),
        S.Block("right", f"承诺单位（盖章）：{company}"),
        S.Block("right", f"法定代表人（签字）：{signer.name}"),
        S.Block("right", cn_date(signed)),
    ]
    fd = flow_document("commitment_letter", blocks, {}, footer=False)
    return G._doc(fd, "commitment")


# --- packets ---------------------------------------------------------------------------------

_ID_OUTCOMES = {"present": 58, "expires_soon": 3, "expired": 7, "front_only": 5, "someone_else": 4,
                "missing": 7, "reused": 8, "reused_over_expired": 3, "form_bad_check_digit": 3,
                "card_typo": 2}
_PREMISES = {"property": 30, "lease": 33, "lease_ended": 9, "committed": 15, "missing": 13}


class _Build:
    def __init__(self, rng: random.Random, on: date) -> None:
        self.rng = rng
        self.on = on
        self.docs: list[DocSpec] = []
        self.states: dict[str, str] = {}
        self.certs: list[ReusableCertificate] = []
        self.notes: list[str] = []

    def id_slot(self, slot: str, p: S.Person, role: str, purpose: str) -> tuple[str, str]:
        """Adds the card for `slot`; returns the outcome and the number the form carries."""
        rng, on = self.rng, self.on
        outcome = G._pick(rng, _ID_OUTCOMES)
        self.notes.append(f"{slot}={outcome}")
        form_id = p.id_number
        state = "invalid"
        if outcome == "present":
            self.docs.append(id_copy(rng, p, role, purpose))
            state = "present"
        elif outcome == "expires_soon":  # still valid on the day of acceptance
            until = on + timedelta(days=rng.randrange(3, 25))
            soon = replace(p, id_valid_until=until, id_valid_from=S.add_years(until, -10))
            self.docs.append(id_copy(rng, soon, role, purpose))
            state = "present"
        elif outcome in ("expired", "reused_over_expired"):
            old = G.make_person(rng, on, expired=True, region=p.region)
            old = replace(p, id_valid_from=old.id_valid_from, id_valid_until=old.id_valid_until)
            self.docs.append(id_copy(rng, old, role, purpose))
            if outcome == "reused_over_expired":
                self.certs.append(G._cert_id(p, rng))
                state = "reused"
        elif outcome == "front_only":
            self.docs.append(id_copy(rng, p, role, purpose, front_only=True))
        elif outcome == "someone_else":
            self.docs.append(id_copy(rng, person(rng, on), role, purpose))
        elif outcome == "missing":
            state = "missing"
            if rng.random() < 0.3:
                self.certs.append(G._cert_id(p, rng, valid=False))
        elif outcome == "reused":
            self.certs.append(G._cert_id(p, rng))
            state = "reused"
        elif outcome == "form_bad_check_digit":
            form_id = S.corrupt_check_char(p.id_number, "resident_id")
            self.docs.append(id_copy(rng, p, role, purpose))
            self.states["application_form"] = "invalid"
        elif outcome == "card_typo":
            self.docs.append(id_copy(rng, replace(p, id_number=S.corrupt_check_char(p.id_number, "resident_id")),
                                     role, purpose))
        self.states[slot] = state
        return outcome, form_id

    def premises(self, slot: str, holder: S.Person, lessee: str, item_name: str,
                 company: str = "") -> None:
        rng, on = self.rng, self.on
        outcome = G._pick(rng, _PREMISES)
        self.notes.append(f"{slot}={outcome}")
        if outcome == "property":
            self.docs.append(G.property_certificate(rng, holder, on))
            self.states[slot] = "present"
        elif outcome in ("lease", "lease_ended"):
            self.docs.append(G.lease_contract(rng, lessee, holder.region, on, ended=outcome == "lease_ended"))
            self.states[slot] = "present" if outcome == "lease" else "invalid"
        elif outcome == "committed":
            self.docs.append(commitment(rng, holder, item_name, "premises", on - timedelta(days=2), company))
            self.states[slot] = "committed"
        else:
            self.states[slot] = "missing"


def _authority(p: S.Person) -> str:
    return p.region.market_authority


def _company(b: _Build) -> FormData:
    rng, on = b.rng, b.on
    rep = person(rng, on)
    company = G.make_company(rng, rep, on)
    signed = on - timedelta(days=rng.randrange(0, 15))
    purpose = f"{company.name}设立登记"
    b.states["application_form"] = "present"
    _, rep_id = b.id_slot("legal_rep_id_card", rep, "legal_rep", purpose)
    if rng.random() < 0.9:
        b.docs.append(G.articles(rng, company, signed))
        b.states["articles_of_association"] = "present"
    else:
        b.states["articles_of_association"] = "missing"
    b.premises("premises_proof", rep, company.name, "有限责任公司设立登记", company.name)
    agent = person(rng, on) if rng.random() < 0.55 else None
    if agent is None:
        b.states["power_of_attorney"] = b.states["agent_id_card"] = "not_required"
    else:
        m = Mandate(company.name, "", rep, purpose, _authority(rep), signed)
        r = rng.random()
        if r < 0.85:
            b.docs.append(power_of_attorney(rng, m, agent))
            b.states["power_of_attorney"] = "present"
        elif r < 0.92:
            b.states["power_of_attorney"] = "missing"
        else:
            b.docs.append(power_of_attorney(rng, m, person(rng, on)))
            b.states["power_of_attorney"] = "invalid"
        r = rng.random()
        if r < 0.86:
            b.docs.append(id_copy(rng, agent, "agent", purpose))
            b.states["agent_id_card"] = "present"
        elif r < 0.94:
            b.states["agent_id_card"] = "missing"
        elif r < 0.97:
            old = G.make_person(rng, on, expired=True, region=agent.region)
            b.docs.append(id_copy(rng, replace(agent, id_valid_from=old.id_valid_from,
                                               id_valid_until=old.id_valid_until), "agent", purpose))
            b.states["agent_id_card"] = "invalid"
        else:
            b.docs.append(id_copy(rng, agent, "agent", purpose, front_only=True))
            b.states["agent_id_card"] = "invalid"
    b.notes.append("agent" if agent else "no agent")
    r = rng.random()
    liaison = rep if r < 0.5 else agent if (agent and r < 0.8) else person(rng, on)
    return FormData("company-establishment", company.name, None, company.address,
                    (agent or rep).phone, signed, rep=rep, agent=agent, form_rep_id=rep_id,
                    liaison=liaison, scope=company.scope, capital=company.registered_capital,
                    kind=company.kind)


def _food(b: _Build) -> FormData:
    rng, on = b.rng, b.on
    rep = person(rng, on)
    outcome = G._pick(rng, {"present": 68, "bad_check_digit": 6, "ended": 6, "missing": 7,
                            "reused": 8, "other_company": 5})
    b.notes.append(f"business_license={outcome}")
    company = G.make_company(rng, rep, on, food=True, term_ended=outcome == "ended")
    signed = on - timedelta(days=rng.randrange(0, 15))
    b.states["application_form"] = "present"
    if outcome in ("present", "ended"):
        b.docs.append(G.business_license(rng, company))
        b.states["business_license"] = "present" if outcome == "present" else "invalid"
    elif outcome == "bad_check_digit":
        bad = replace(company, credit_code=S.corrupt_check_char(company.credit_code, "credit_code"))
        b.docs.append(G.business_license(rng, bad))
        b.states["business_license"] = "invalid"
    elif outcome == "other_company":
        b.docs.append(G.business_license(rng, G.make_company(rng, person(rng, on), on, food=True)))
        b.states["business_license"] = "invalid"
    elif outcome == "reused":
        b.certs.append(ReusableCertificate(
            f"cert-{rng.randrange(10**6)}", "business_license", company.credit_code,
            company.name, company.credit_code, company.term_until))
        b.states["business_license"] = "reused"
    else:
        b.states["business_license"] = "missing"
    purpose = "食品经营许可申请"
    _, rep_id = b.id_slot("legal_rep_id_card", rep, "legal_rep", purpose)
    r = rng.random()
    if r < 0.78:
        b.docs.append(G.food_rules(rng, company, company.established))
        b.states["food_safety_rules"] = "present"
    elif r < 0.9:
        b.docs.append(commitment(rng, rep, "食品经营许可证核发", "food_rules", on - timedelta(days=1),
                                 company.name))
        b.states["food_safety_rules"] = "committed"
    else:
        b.states["food_safety_rules"] = "missing"
    if rng.random() < 0.9:
        b.docs.append(G.layout(rng, company))
        b.states["premises_layout"] = "present"
    else:
        b.states["premises_layout"] = "missing"
    manager = rep if rng.random() < 0.3 else person(rng, on)
    return FormData("food-business-license", company.name, company.credit_code, company.address,
                    rep.phone, signed, rep=rep, form_rep_id=rep_id, manager=manager,
                    scope=company.scope)


# An agent's papers come along only where the operator's own card leaves no doubt which card
# is whose (with the operator's card missing or reused, another person's card would make the
# slot's truth a matter of opinion).
_AGENT_OK = ("present", "expires_soon", "expired", "front_only", "someone_else",
             "form_bad_check_digit", "card_typo")


def _individual(b: _Build) -> FormData:
    rng, on = b.rng, b.on
    op = person(rng, on)
    shop = G.shop_name(rng, op)
    signed = on - timedelta(days=rng.randrange(0, 15))
    purpose = f"{shop}个体工商户登记"
    b.states["application_form"] = "present"
    outcome, op_id = b.id_slot("operator_id_card", op, "operator", purpose)
    b.premises("premises_proof", op, rng.choice((op.name, shop)), "个体工商户设立登记")
    agent = person(rng, on) if outcome in _AGENT_OK and rng.random() < 0.25 else None
    if agent is not None:
        b.notes.append("agent (no slot)")
        if rng.random() < 0.85:
            b.docs.append(power_of_attorney(rng, Mandate(op.name, op.id_number, None, purpose,
                                                         _authority(op), signed), agent))
        if rng.random() < 0.85:
            b.docs.append(id_copy(rng, agent, "agent", purpose))
    family = [person(rng, on) for _ in range(rng.choice((1, 2)))] if rng.random() < 0.25 else []
    scope = rng.choice(("小吃服务；预包装食品销售", "日用百货零售；文具用品零售", "水果零售；蔬菜零售",
                        "理发服务；美容服务"))
    return FormData("individual-business-registration", op.name, op_id, G._address(rng, op.region),
                    op.phone, signed, agent=agent, operator=op, form_op_id=op_id,
                    business_name=shop, family=family, scope=scope)


_BUILDERS = {"company-establishment": _company, "food-business-license": _food,
             "individual-business-registration": _individual}


def build_packet(seed: int, index: int, *, acceptance_date: date | None = None,
                 item_code: str | None = None) -> Packet:
    rng = random.Random(f"bench-rules-fresh/{seed}/{index}")
    on = acceptance_date or date(2025, 3, 1) + timedelta(days=rng.randrange(0, 640))
    item = item_code or G.ITEMS[index % len(G.ITEMS)]
    b = _Build(rng, on)
    form = _BUILDERS[item](b)
    form_doc = application_form(rng, form)
    b.notes.append(form_doc.tag)
    if b.states.get("application_form") != "invalid":
        b.states["application_form"] = "present"
    rest = list(b.docs)
    rng.shuffle(rest)
    if rng.random() < 0.65:
        docs = [form_doc, *rest]
    else:
        docs = list(rest)
        docs.insert(rng.randrange(len(rest) + 1), form_doc)
    pages: list[PageSpec] = []
    positions: list[list[int]] = []
    for d in docs:
        positions.append([])
        for p in d.pages:
            pages.append(p)
            positions[-1].append(len(pages))
        if rng.random() < 0.08:  # the empty back of a sheet fed through a duplex scanner
            pages.append(G.blank_page())
    if rng.random() < 0.2:
        pages, positions = G.shuffle_pages(rng, pages, positions)
        b.notes.append("pages shuffled")
    for p in pages:
        p.level = "medium" if rng.random() < 0.35 else "light"
        if rng.random() < 0.1 and p.material_type != "blank":
            p.rotate = rng.choice((90, 180, 180, 270))
    ok = ("present", "reused", "committed", "not_required")
    status = "complete" if all(s in ok for s in b.states.values()) else "incomplete"
    return Packet(f"F{seed}-{index:04d}-{item}", item, on, pages,
                  [(d, tuple(pos)) for d, pos in zip(docs, positions, strict=True)],
                  dict(b.states), status, b.certs, b.notes)


# --- noisy mode ------------------------------------------------------------------------------

# Words whose loss would change what a page says about a slot: never dropped at a line end.
KEY_PHRASES = ("委托代理人", "代理人", "受托人", "被委托人", "委托人", "经办人", "指定代表", "法定代表人",
               "负责人", "经营者", "承诺人", "申请人", "联络员", "食品安全管理人员", "身份证", "证件号码",
               "住所使用证明", "经营场所使用证明", "使用证明", "食品安全管理制度", "食品安全规章制度",
               "告知承诺", "承诺书", "委托书", "申请书", "有效期", "期限")


def protected_values(packet: Packet) -> list[str]:
    """Every value of the packet's ground truth, and the persons' and companies' names as
    printed, which the noisy mode must not cut."""
    out = set(KEY_PHRASES)
    for doc, _ in packet.documents:
        out.update(v.replace(" ", "") for v in doc.fields.values() if v and len(v) >= 2)
    return sorted(out, key=len, reverse=True)




def _cuttable(text: str, protected: Sequence[str]) -> bool:
    """Prose that carries no value: long, no digits or dates, no protected value in it or
    running over its end."""
    flat = text.replace(" ", "").replace("\u3000", "")
    if len(flat) < 14 or any(c.isdigit() for c in flat) or ("年" in flat and "月" in flat):
        return False
    for v in protected:
        if v in flat or flat in v:
            return False
        if any(v.startswith(flat[-k:]) for k in range(1, min(len(v), len(flat)) + 1)):
            return False
    return True


def _confidence(rng: random.Random) -> float:
    r = rng.random()
    if r < 0.025:
        return rng.uniform(0.45, 0.8)  # genuinely unsure
    if r < 0.15:
        return rng.uniform(0.8, 0.93)
    return 1 - rng.betavariate(1.2, 30)  # mostly 0.95-0.999


def noisy_page(n: int, spec: PageSpec, rng: random.Random, protected: Sequence[str]) -> OcrPage:
    """The fresh split's OCR-like noise (see the module docstring)."""
    out: list[OcrLine] = []
    for t in reading_order(spec.texts):
        text = t.text
        box = [float(v) for v in t.box]
        conf = _confidence(rng)
        if _cuttable(text, protected) and rng.random() < 0.1:
            text = text[: -rng.choice((1, 1, 2))]
        chars = []
        for ch in text:
            r = rng.random()
            if ch == "□" and r < 0.5:
                ch = "口"
            elif ch == "☑" and r < 0.4:
                ch = rng.choice(("团", "√", "区"))
            elif ch == "X" and r < 0.3:
                ch = "x"
            elif ch == "·" and r < 0.5:
                ch = rng.choice(("・", "‧"))
            elif ch in "（）" and r < 0.3:
                ch = "(" if ch == "（" else ")"
            chars.append(ch)
        text = "".join(chars)
        k = text.find("：")
        if k > 0:
            r = rng.random()
            if r < 0.18:
                text = text[:k] + ":" + text[k + 1:]
            elif r < 0.24:
                text = text[:k] + text[k + 1:]
            elif r < 0.44 and k + 1 < len(text):
                # Split into two boxes at the colon: "姓名：" | "张三".
                x0, y0, x1, y1 = box
                cut = x0 + (x1 - x0) * (k + 1) / len(text)
                out.append(OcrLine(text[: k + 1], conf, (x0, y0, cut, y1)))
                text, box = text[k + 1:], [cut + 4, y0, x1, y1]
                conf = _confidence(rng)
        if text:
            out.append(OcrLine(text, conf, tuple(box)))  # type: ignore[arg-type]
    return OcrPage(f"page-{n}.png", 1, "ocr", float(W), float(H), tuple(out), blank=not out)


# --- scan degradations -----------------------------------------------------------------------


def scan(spec: PageSpec, rng: random.Random) -> Image.Image:
    """A scanned page of the fresh split: the samples' scanner, then sometimes a binarised
    (fax-like) copy, a fold across the sheet, or a copier's gutter shadow at one edge."""
    img = S.degrade(spec.image, rng, level=spec.level,
                    grey=True if spec.material_type == "id_card" else None, rotate=spec.rotate)
    r = rng.random()
    if r < 0.15:
        arr = np.asarray(img.convert("L"), dtype=np.float32)
        noise = np.random.default_rng(rng.getrandbits(32)).normal(0, 10, arr.shape)
        return Image.fromarray(np.where(arr + noise < rng.uniform(150, 185), 0, 255).astype(np.uint8), "L")
    if r < 0.3:
        arr = np.asarray(img.convert("L"), dtype=np.float32)
        h, _ = arr.shape
        yc = int(h * rng.uniform(0.3, 0.7))
        ys = np.arange(h, dtype=np.float32)[:, None]
        crease = 1 - 0.25 * np.exp(-((ys - yc) / 6) ** 2) - 0.06 * np.exp(-((ys - yc) / 60) ** 2)
        return Image.fromarray(np.clip(arr * crease, 0, 255).astype(np.uint8), "L")
    if r < 0.42:
        arr = np.asarray(img.convert("L"), dtype=np.float32)
        _, w = arr.shape
        xs = np.arange(w, dtype=np.float32)[None, :]
        if rng.random() < 0.5:
            xs = xs[:, ::-1]
        shadow = 1 - 0.55 * np.exp(-xs / rng.uniform(40, 90))
        return Image.fromarray(np.clip(arr * shadow, 0, 255).astype(np.uint8), "L")
    return img

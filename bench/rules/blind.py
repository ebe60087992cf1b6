# ruff: noqa: E501  (data tables of Chinese text read better unwrapped)
"""The rules benchmark's fourth split, `blind`: nobody tunes on it.

Written without reading the rules' code or any split's failures, from what service-centre
materials look like: forms filled in by hand over printed blanks (values in another font,
a little off the line), Word forms typed into underscores ("姓名：____张三____"), the item
ticked in a check-box list, ID numbers in 18 boxes or in groups of 4-6 digits, dates in
Chinese numerals or with dots; 《企业设立登记申请书》 from a province with its blank lines
and one laid out as a people table (法定代表人, 监事 and others with their own ID numbers),
《个体工商户注册登记申请书》 with 身份证件类型 and 经营者签字, 《食品经营许可申请书》 with a
cover, 主体业态/经营项目 check boxes and a 食品安全管理人员 with an ID number; powers of
attorney as a 委托人/受托人 table with 联系电话 and 身份证件号码, as the SAMR
指定代表或者共同委托代理人授权委托书 signed by the shareholders, or as a letter with filled
blanks; ID copies stacked, side by side at natural size, with a clerk's 核验 note, or two
people (legal representative and agent) copied together; 告知承诺书 naming the replaced
material in several ways. People, companies, licences, leases, property certificates,
articles, food-safety rules and layouts come from `generator.py`.

Noisy mode (`noisy_page`) and ocr mode (`scan`) have their own noise and degradations.
"""

from __future__ import annotations

import io
import math
import random
from collections.abc import Sequence
from dataclasses import replace
from datetime import date, timedelta

import cv2
import numpy as np
from PIL import Image

from bench.rules import generator as G
from bench.rules.generator import DocSpec, Packet, PageSpec
from bench.rules.layout import Cell, grid
from bench.rules.samples_api import samples as S
from ocr.types import OcrLine, OcrPage
from rules.types import ReusableCertificate

SEED_OFFSET = 3000
"""`python -m bench.rules --split blind` runs on seed + this offset."""

# --- people ----------------------------------------------------------------------------------

_MINORITY = ("阿依努尔·买买提", "古丽米拉·艾山", "木合塔尔·吐尔地", "阿迪力·阿布拉", "次仁·多布杰",
             "索朗·旺姆", "乌兰·其木格", "哈斯·巴根")
_SHORT = ("王芳", "李娜", "张伟", "刘洋", "陈静", "杨帆", "赵磊", "黄蕾", "周杰", "吴迪", "孙悦", "马骏")


def person(rng: random.Random, on: date, **kw: object) -> S.Person:
    p = G.make_person(rng, on, **kw)  # type: ignore[arg-type]
    r = rng.random()
    if r < 0.04:
        return replace(p, name=rng.choice(_MINORITY))
    if r < 0.12:
        return replace(p, name=rng.choice(_SHORT))
    return p


# --- text forms --------------------------------------------------------------------------------

_NUM = "〇一二三四五六七八九"


def _cn_small(n: int) -> str:
    if n < 10:
        return _NUM[n]
    t, u = divmod(n, 10)
    return ("" if t == 1 else _NUM[t]) + "十" + (_NUM[u] if u else "")


def date_text(d: date, rng: random.Random) -> str:
    f = rng.randrange(6)
    if f == 0:
        return "".join(_NUM[int(c)] for c in str(d.year)) + f"年{_cn_small(d.month)}月{_cn_small(d.day)}日"
    if f == 1:
        return f"{d.year}年{d.month}月{d.day}日"
    if f == 2:
        return f"{d.year}.{d.month}.{d.day}"
    if f == 3:
        return f"{d.year} 年 {d.month} 月 {d.day} 日"
    if f == 4:
        return f"{d:%Y-%m-%d}"
    return f"{d.year}年{d.month:02d}月{d.day:02d}日"


def id_text(idn: str, rng: random.Random, rate: float = 0.25) -> str:
    """An ID number as printed or typed: plain, or in groups of 4-6 digits."""
    if rng.random() >= rate:
        return idn
    groups = rng.choice(((6, 4, 4, 4), (4, 4, 4, 4, 2), (6, 6, 6), (3, 3, 4, 4, 4)))
    out, k = [], 0
    for g in groups:
        out.append(idn[k:k + g])
        k += g
    return " ".join(out)


def _tick(on: bool) -> str:
    return "☑" if on else "□"


def _ticks(options: Sequence[str], chosen: str, rng: random.Random) -> str:
    sep = rng.choice((" ", "  ", "　"))
    return sep.join(f"{_tick(o == chosen)}{o}" for o in options)


# --- a sheet filled in by hand ------------------------------------------------------------------


class _Sheet:
    """One A4 page: printed labels in one font, the applicant's values in another, placed a
    little off their blank lines; or (`typed`) a Word form whose blanks are underscores."""

    def __init__(self, rng: random.Random, material_type: str, *, typed: bool | None = None) -> None:
        self.rng = rng
        self.cv = S.Canvas(S.A4_SIZE)
        self.mt = material_type
        self.serif = rng.random() < 0.6
        self.hand_serif = not self.serif
        self.hand_bold = rng.random() < 0.4
        self.size = rng.choice((32, 34, 36))
        self.x0 = 130 + rng.randrange(40)
        self.x1 = S.A4_SIZE[0] - self.x0
        self.y = 170.0 + rng.randrange(40)
        self.typed = rng.random() < 0.25 if typed is None else typed

    def p(self, x: float, y: float, text: str, size: int | None = None, *, bold: bool = False,
          align: str = "l") -> tuple[float, float, float, float]:
        return self.cv.text(x, y, text, size or self.size, bold=bold, serif=self.serif, align=align)

    def h(self, x: float, y: float, text: str, size: int | None = None) -> tuple[float, float, float, float]:
        rng = self.rng
        return self.cv.text(x + rng.uniform(-4, 22), y + rng.uniform(-10, 6), text,
                            (size or self.size) + rng.choice((0, 2, 4)), bold=self.hand_bold,
                            serif=self.hand_serif)

    def title(self, text: str, size: int = 60) -> None:
        self.p(S.A4_SIZE[0] / 2, self.y, text, size, bold=True, align="m")
        self.y += size + 50

    def text_line(self, text: str, *, bold: bool = False, gap: int = 28) -> None:
        for ln in S.wrap_text(text, self.size, self.x1 - self.x0, serif=self.serif):
            self.p(self.x0, self.y, ln, bold=bold)
            self.y += self.size + gap

    def blanks(self, items: Sequence[tuple[str, str, float]]) -> None:
        """One row of "label：____" blanks, each `width` px wide, filled with `value`."""
        x = float(self.x0)
        for label, value, width in items:
            if self.typed:
                pad_l, pad_r = "_" * self.rng.randrange(2, 6), "_" * self.rng.randrange(2, 8)
                inner = value if value else "_" * max(4, int(width / self.size))
                box = self.p(x, self.y, f"{label}：{pad_l}{inner}{pad_r}")
                x = box[2] + 40
                continue
            box = self.p(x, self.y, f"{label}：")
            lx = box[2] + 6
            self.cv.line(lx, self.y + self.size + 10, lx + width, self.y + self.size + 10, 2)
            if value:
                self.h(lx + 12, self.y - 2, value)
            x = lx + width + 36
        self.y += self.size + 44

    def id_boxes(self, x: float, y: float, idn: str) -> None:
        """Eighteen printed boxes with one character each; read as one line."""
        w, hgt = 46, 56
        size = self.size + 2
        font = S.load_font(size, self.hand_bold, self.hand_serif)
        x0s = []
        for k, ch in enumerate(idn):
            bx = x + k * w
            self.cv.rect(bx, y, bx + w, y + hgt, 2)
            cx = bx + w / 2 + self.rng.uniform(-3, 3)
            self.cv.draw.text((cx, y + 6), ch, font=font, fill=S.BLACK, anchor="ma")
            x0s.append(self.cv.draw.textbbox((cx, y + 6), ch, font=font, anchor="ma"))
        box = (min(b[0] for b in x0s), min(b[1] for b in x0s), max(b[2] for b in x0s),
               max(b[3] for b in x0s))
        self.cv.texts.append(S.TextOp(idn, box[0], y + 6, size, self.hand_bold, self.hand_serif, "l", box))

    def id_row(self, label: str, idn: str, style: str) -> None:
        if not idn:
            self.blanks([(label, "", 760)])
            return
        if style == "boxes":
            box = self.p(self.x0, self.y + 8, f"{label}：")
            self.id_boxes(box[2] + 10, self.y, idn)
            self.y += 56 + 40
        else:
            self.blanks([(label, id_text(idn, self.rng), 760)])

    def page(self) -> PageSpec:
        return PageSpec(self.cv.image, list(self.cv.texts), self.mt)


def _truth(item: str, *, applicant_name: str, applicant_id: str | None, rep: tuple[str, str] | None,
           agent: tuple[str, str] | None, phone: str, address: str, signed: date,
           business_name: str = "") -> dict[str, str | None]:
    t: dict[str, str | None] = {
        "applicant_name": G._half(applicant_name), "applicant_id": applicant_id,
        "legal_rep_name": rep[0] if rep else None, "legal_rep_id_number": rep[1] if rep else None,
        "agent_name": agent[0] if agent else None, "agent_id_number": agent[1] if agent else None,
        "phone": phone, "address": address, "date": signed.isoformat(),
    }
    if business_name:
        t["business_name"] = business_name
    return t


class FormInfo:
    """What the form must say, whoever renders it."""

    def __init__(self, item: str, name: str, rep: tuple[str, str] | None, agent: S.Person | None,
                 agent_id: str, phone: str, address: str, signed: date, *, credit_code: str | None = None,
                 operator_id: str | None = None, business_name: str = "", extra: Sequence[tuple[str, S.Person]] = (),
                 capital: str = "", scope: str = "", rep_phone: str = "") -> None:
        self.item, self.name, self.rep, self.agent, self.agent_id = item, name, rep, agent, agent_id
        self.phone, self.address, self.signed = phone, address, signed
        self.credit_code, self.operator_id, self.business_name = credit_code, operator_id, business_name
        self.extra, self.capital, self.scope, self.rep_phone = extra, capital, scope, rep_phone


def _empty(rng: random.Random) -> str:
    return rng.choice(("", "", "", "/", "无"))


def company_blanks_form(rng: random.Random, f: FormInfo, region: S.Region) -> list[PageSpec]:
    """A province's 《企业设立登记申请书》 filled by hand over blank lines."""
    sh = _Sheet(rng, "application_form")
    sheets = [sh]
    prov = region.province or region.city
    sh.p(sh.x0, sh.y, rng.choice(("附件1", "表一", f"{prov}市场监督管理局制", "")), sh.size - 6)
    sh.y += 60
    sh.title(rng.choice(("企业设立登记申请书", "公司设立登记申请书", "企业登记申请书")))
    sh.text_line(rng.choice(("申请类型：", "登记类型：")) + _ticks(("设立", "变更", "注销", "备案"), "设立", rng))
    sh.y += 10
    sh.text_line("一、企业基本信息", bold=True)
    sh.blanks([(rng.choice(("企业名称", "名称")), f.name, 1000)])
    sh.blanks([("住所", f.address, 1080)])
    sh.blanks([("联系电话", f.phone, 380), ("邮政编码", f"{rng.randrange(100000, 999999)}", 220)])
    sh.blanks([("注册资本", f.capital, 300)])
    sh.text_line("企业类型：" + _ticks(("有限责任公司（自然人独资）", "有限责任公司（自然人投资或控股）"),
                                     rng.choice(("有限责任公司（自然人独资）", "有限责任公司（自然人投资或控股）")), rng))
    sh.y += 10
    sh.text_line("二、法定代表人信息", bold=True)
    assert f.rep is not None
    sh.blanks([("姓名", f.rep[0], 320), ("职务", rng.choice(("执行董事", "董事长", "经理")), 260)])
    sh.text_line("身份证件类型：" + _ticks(("居民身份证", "护照", "其他"), "居民身份证", rng))
    id_style = "boxes" if rng.random() < 0.4 else "line"
    sh.id_row("身份证件号码", f.rep[1], id_style)
    sh.blanks([("移动电话", f.rep_phone, 420)])
    if sh.y > 1650:
        sh = _Sheet(rng, "application_form", typed=sh.typed)
        sheets.append(sh)
    sh.y += 10
    sh.text_line(rng.choice(("三、指定代表或委托代理人信息", "三、指定代表/委托代理人")), bold=True)
    if f.agent is not None:
        sh.blanks([("姓名", f.agent.name, 320), ("移动电话", f.agent.phone, 380)])
        sh.id_row("身份证件号码", f.agent_id, id_style)
        start = f.signed
        sh.blanks([("委托期限自", date_text(start, rng), 330), ("至", date_text(start + timedelta(days=90), rng), 330)])
    else:
        e = _empty(rng)
        sh.blanks([("姓名", e, 320), ("移动电话", e, 380)])
        sh.blanks([("身份证件号码", e, 760)])
    sh.y += 20
    sh.text_line("本申请人和签字人承诺提交的材料文件和填报的信息真实有效，并承担相应的法律责任。")
    sh.y += 30
    names = [f.rep[0], *(p.name for _, p in f.extra)]
    sh.blanks([(rng.choice(("全体股东签字（盖章）", "股东签字")), "  ".join(names), 700)])
    sh.blanks([("日期", date_text(f.signed, rng), 420)])
    return [s.page() for s in sheets]


def company_table_form(rng: random.Random, f: FormInfo, region: S.Region) -> list[PageSpec]:
    """Another province's form: basic data then a table of the company's people."""
    sh = _Sheet(rng, "application_form")
    sh.title(rng.choice(("公司设立登记申请表", "有限责任公司设立登记申请书")), 56)
    sh.text_line(_ticks(("设立登记", "变更登记", "注销登记"), "设立登记", rng))
    size = sh.size
    w = sh.x1 - sh.x0
    assert f.rep is not None
    rows = [
        [Cell("名称", bold=True), Cell(f.name, span=3)],
        [Cell("住所", bold=True), Cell(f.address, span=3)],
        [Cell("联系电话", bold=True), Cell(f.phone), Cell("注册资本", bold=True), Cell(f.capital)],
    ]
    y = grid(sh.cv, sh.x0, sh.y, (280, 520, 240, w - 1040), rows, size=size, serif=sh.serif)
    y += 40
    sh.cv.text(sh.x0, y, rng.choice(("主要人员信息", "董事、监事、经理信息")), size, bold=True, serif=sh.serif)
    y += size + 24
    rep_role = rng.choice(("执行董事兼法定代表人", "法定代表人、执行董事", "董事长（法定代表人）", "法定代表人"))
    people = [(f.rep[0], rep_role, f.rep[1])]
    for role, p in f.extra:
        people.append((p.name, role, p.id_number))
    if rng.random() < 0.5 and len(people) > 1:
        people = [people[1], people[0], *people[2:]]
    head = [Cell("姓名", bold=True), Cell("职务", bold=True), Cell("证件类型", bold=True),
            Cell("证件号码", bold=True)]
    body = [[Cell(n), Cell(r), Cell("居民身份证"), Cell(id_text(i, rng, 0.15))] for n, r, i in people]
    y = grid(sh.cv, sh.x0, y, (220, 380, 250, w - 850), [head, *body], size=size - 2, serif=sh.serif)
    y += 40
    label = rng.choice(("指定代表或者委托代理人", "委托代理人（经办人）", "指定代表/委托代理人"))
    if f.agent is not None:
        rows = [[Cell(label, bold=True), Cell(f.agent.name), Cell("移动电话", bold=True), Cell(f.agent.phone)],
                [Cell("身份证件号码", bold=True), Cell(id_text(f.agent_id, rng, 0.15), span=3)]]
    else:
        e = _empty(rng)
        rows = [[Cell(label, bold=True), Cell(e), Cell("移动电话", bold=True), Cell(e)],
                [Cell("身份证件号码", bold=True), Cell(e, span=3)]]
    y = grid(sh.cv, sh.x0, y, (380, 340, 240, w - 960), rows, size=size - 2, serif=sh.serif)
    sh.y = y + 60
    sh.text_line("申请人承诺：所填内容及提交的材料真实、合法、有效。")
    sh.y += 40
    sh.blanks([(rng.choice(("法定代表人签字", "法定代表人（签字）")), f.rep[0], 360)])
    sh.blanks([(rng.choice(("申请日期", "日期")), date_text(f.signed, rng), 420)])
    return [sh.page()]


def individual_form(rng: random.Random, f: FormInfo) -> list[PageSpec]:
    """《个体工商户注册登记申请书》 as a ruled table with 身份证件类型 beside the number."""
    sh = _Sheet(rng, "application_form")
    sh.title(rng.choice(("个体工商户注册登记申请书", "个体工商户设立登记申请书", "个体工商户登记申请书")), 56)
    sh.text_line(_ticks(("设立", "变更", "注销"), "设立", rng))
    size = sh.size - 2
    w = sh.x1 - sh.x0
    family = len(f.extra) > 0
    assert f.operator_id is not None
    rows = [[Cell("个体工商户名称", bold=True), Cell(f.business_name, span=3)]]
    if rng.random() < 0.5:
        sex = rng.choice("男女")
        rows += [[Cell("经营者姓名", bold=True), Cell(f.name), Cell("性别", bold=True), Cell(sex)],
                 [Cell("身份证件类型", bold=True), Cell("居民身份证"), Cell("身份证件号码", bold=True),
                  Cell(id_text(f.operator_id, rng, 0.2))]]
        cols = (300, 360, 300, w - 960)
    else:
        rows = [[Cell("个体工商户名称", bold=True), Cell(f.business_name, span=3)],
                [Cell("经营者", bold=True), Cell("姓名", bold=True), Cell("身份证件类型", bold=True), Cell("身份证件号码", bold=True)],
                [Cell(""), Cell(f.name), Cell("居民身份证"), Cell(id_text(f.operator_id, rng, 0.2))]]
        cols = (240, 300, 300, w - 840)
    rows.append([Cell("组成形式", bold=True), Cell(_ticks(("个人经营", "家庭经营"), "家庭经营" if family else "个人经营", rng), span=3)])
    if family:
        for _, p in f.extra:
            rows.append([Cell("参加经营的家庭成员", bold=True), Cell(p.name), Cell("身份证件号码", bold=True),
                         Cell(p.id_number)])
    rows += [[Cell("经营场所", bold=True), Cell(f.address, span=3)],
             [Cell("联系电话", bold=True), Cell(f.phone), Cell("从业人数", bold=True), Cell(str(rng.randrange(1, 6)))],
             [Cell("经营范围", bold=True), Cell(f.scope, span=3)]]
    if f.agent is not None:
        rows.append([Cell("委托代理人", bold=True), Cell(f.agent.name), Cell("身份证件号码", bold=True),
                     Cell(f.agent_id)])
    sh.y = grid(sh.cv, sh.x0, sh.y, cols, rows, size=size, serif=sh.serif) + 60
    sh.text_line("本人承诺所提交的材料真实有效，经营场所符合相关规定。")
    sh.y += 40
    sh.blanks([(rng.choice(("经营者签字", "经营者（签字）", "申请人签字")), f.name, 360)])
    sh.blanks([("日期", date_text(f.signed, rng), 420)])
    return [sh.page()]


def food_form(rng: random.Random, f: FormInfo, region: S.Region) -> list[PageSpec]:
    """《食品经营许可申请书》: a cover filled by hand, then the applicant's table with the
    主体业态 and 经营项目 boxes and the legal representative's signature."""
    assert f.rep is not None and f.credit_code is not None
    cover = _Sheet(rng, "application_form")
    cover.y = 480
    cover.title(rng.choice(("食品经营许可申请书", "食品经营许可证申请书")), 76)
    cover.y += 260
    cover.blanks([("申请人名称", f.name, 1000)])
    cover.y += 30
    if rng.random() < 0.5:
        box = cover.p(cover.x0, cover.y + 8, "统一社会信用代码：")
        cover.id_boxes(box[2] + 10, cover.y, f.credit_code)
        cover.y += 110
    else:
        cover.blanks([("统一社会信用代码", f.credit_code, 700)])
    cover.blanks([("申请日期", date_text(f.signed, rng), 460)])
    cover.y = 2000
    cover.p(S.A4_SIZE[0] / 2, cover.y, f"{region.province or region.city}市场监督管理局印制", align="m")
    pages = [cover.page()]
    sh = _Sheet(rng, "application_form", typed=False)
    sh.text_line(rng.choice(("一、申请人基本情况", "申请人基本情况")), bold=True)
    size = sh.size - 2
    w = sh.x1 - sh.x0
    rep_label = rng.choice(("法定代表人（负责人）", "法定代表人(负责人)姓名", "法定代表人"))
    rows = [[Cell("申请人名称", bold=True), Cell(f.name, span=3)],
            [Cell("统一社会信用代码", bold=True), Cell(f.credit_code, span=3)],
            [Cell(rep_label, bold=True), Cell(f.rep[0]), Cell("移动电话", bold=True), Cell(f.phone)],
            [Cell("身份证件类型", bold=True), Cell("居民身份证"), Cell("证件号码", bold=True),
             Cell(id_text(f.rep[1], rng, 0.2))],
            [Cell("住所", bold=True), Cell(f.address, span=3)],
            [Cell("经营场所", bold=True), Cell(rng.choice(("同住所", f.address)), span=3)]]
    kind = rng.choice(("食品销售经营者", "餐饮服务经营者"))
    rows.append([Cell("主体业态", bold=True), Cell(_ticks(("食品销售经营者", "餐饮服务经营者", "单位食堂"), kind, rng), span=3)])
    items = ("预包装食品销售（含冷藏冷冻食品）", "散装食品销售", "热食类食品制售", "冷食类食品制售", "自制饮品制售")
    chosen = set(rng.sample(items, rng.randrange(1, 4)))
    rows.append([Cell("经营项目", bold=True), Cell("  ".join(f"{_tick(i in chosen)}{i}" for i in items), span=3)])
    for role, p in f.extra:
        rows.append([Cell(role, bold=True), Cell(p.name), Cell("身份证件号码", bold=True), Cell(p.id_number)])
    sh.y = grid(sh.cv, sh.x0, sh.y, (340, 360, 260, w - 960), rows, size=size, serif=sh.serif) + 60
    sh.text_line("本申请人承诺：所提交的材料真实、合法、有效，符合食品安全法律法规的要求。")
    sh.y += 40
    sh.blanks([(rng.choice(("法定代表人（负责人）签字", "法定代表人（负责人）签名")), f.rep[0], 360)])
    sh.blanks([("申请人（盖章）", "", 400)])
    sh.blanks([("日期", date_text(f.signed, rng), 420)])
    pages.append(sh.page())
    return pages


# --- powers of attorney ---------------------------------------------------------------------------


def poa_table(rng: random.Random, principal: str, principal_id: str, principal_phone: str,
              rep_name: str | None, agent: S.Person, matter: str, signed: date) -> DocSpec:
    """委托人 and 受托人 rows with 身份证件号码 and 联系电话 columns."""
    sh = _Sheet(rng, "power_of_attorney", typed=False)
    sh.title(rng.choice(("授权委托书", "委托书")))
    w = sh.x1 - sh.x0
    head = [Cell("", bold=True), Cell("姓名（名称）", bold=True), Cell("身份证件号码", bold=True), Cell("联系电话", bold=True)]
    rows = [head, [Cell("委托人", bold=True), Cell(principal), Cell(principal_id or "—"), Cell(principal_phone)],
            [Cell("受托人", bold=True), Cell(agent.name), Cell(id_text(agent.id_number, rng, 0.1)), Cell(agent.phone)]]
    sh.y = grid(sh.cv, sh.x0, sh.y, (200, 420, 460, w - 1080), rows, size=sh.size - 2, serif=sh.serif) + 50
    sh.text_line(f"委托事项：{matter}。")
    sh.text_line("委托权限：" + "  ".join(f"{_tick(True)}{t}" for t in ("代为提交申请材料", "代为领取相关文书")) + f"  {_tick(False)}代为签署文件")
    sh.text_line(f"委托期限：自{date_text(signed, rng)}至{date_text(signed + timedelta(days=60), rng)}。")
    sh.y += 80
    sh.blanks([("委托人（签字或盖章）", principal, 520)])
    if rep_name:
        sh.blanks([("法定代表人签字", rep_name, 360)])
    sh.blanks([("受托人签字", agent.name, 360)])
    sh.blanks([("日期", date_text(signed, rng), 420)])
    fields: dict[str, str | None] = {"principal": G._half(principal), "agent_name": agent.name,
                                     "agent_id_number": agent.id_number}
    return DocSpec("power_of_attorney", [sh.page()], fields, "poa")


def poa_samr(rng: random.Random, principal: str, shareholders: Sequence[str], agent: S.Person,
             signed: date) -> DocSpec:
    """《指定代表或者共同委托代理人授权委托书》 signed by the shareholders."""
    sh = _Sheet(rng, "power_of_attorney")
    sh.title("指定代表或者共同委托代理人授权委托书", 52)
    sh.blanks([("申请人", principal, 1000)])
    sh.blanks([(rng.choice(("指定代表或者委托代理人", "指定代表或者共同委托代理人")), agent.name, 420)])
    sh.text_line("委托事项及指定代表或者委托代理人权限：")
    for k, t in enumerate(("办理名称申报、设立登记手续", "核对登记材料中的复印件并签署核对意见",
                           "修改企业自行加盖公章的材料", "领取营业执照和有关文书"), 1):
        sh.text_line(f"{k}. {t}   同意{_tick(True)}  不同意{_tick(False)}")
    sh.blanks([("指定或者委托的有效期限：自", date_text(signed, rng), 330), ("至", date_text(signed + timedelta(days=90), rng), 330)])
    with_id = rng.random() < 0.5
    w = sh.x1 - sh.x0
    rows = [[Cell("签字", bold=True), Cell(agent.name), Cell("移动电话", bold=True), Cell(agent.phone)]]
    if with_id:
        rows.append([Cell("身份证件号码", bold=True), Cell(agent.id_number, span=3)])
    sh.y = grid(sh.cv, sh.x0, sh.y, (300, 380, 260, w - 940), rows, size=sh.size - 2, serif=sh.serif) + 30
    sh.cv.rect(sh.x0, sh.y, sh.x1, sh.y + 420, 2)
    sh.p(S.A4_SIZE[0] / 2, sh.y + 190, "（指定代表或者委托代理人身份证件复印件粘贴处）", align="m")
    sh.y += 470
    sh.blanks([(rng.choice(("申请人签字或者盖章", "全体股东签字（盖章）")), "  ".join(shareholders), 760)])
    sh.blanks([("日期", date_text(signed, rng), 420)])
    fields: dict[str, str | None] = {"principal": G._half(principal), "agent_name": agent.name,
                                     "agent_id_number": agent.id_number if with_id else None}
    return DocSpec("power_of_attorney", [sh.page()], fields, "poa")


def poa_letter(rng: random.Random, principal: str, rep_name: str | None, agent: S.Person, matter: str,
               signed: date) -> DocSpec:
    """A letter whose blanks were filled in: 委托人 / 受托人 lines, then the mandate."""
    sh = _Sheet(rng, "power_of_attorney")
    sh.title("授权委托书")
    sh.blanks([("委托人", principal, 1000)])
    if rep_name:
        sh.blanks([("法定代表人", rep_name, 360)])
    sh.blanks([("受托人", agent.name, 320), ("性别", agent.sex, 120)])
    sh.blanks([("身份证件号码", id_text(agent.id_number, rng), 760)])
    sh.blanks([("联系电话", agent.phone, 420)])
    sh.y += 20
    sh.text_line(f"现委托上述受托人作为我方代理人，{matter}。受托人在办理上述事项过程中提交的材料和签署的文件，"
                 "委托人均予以承认，并承担相应的法律责任。")
    sh.text_line("受托人无转委托权。")
    sh.y += 100
    sh.blanks([("委托人（签章）", principal if rep_name is None else "", 500)])
    sh.blanks([("日期", date_text(signed, rng), 420)])
    fields: dict[str, str | None] = {"principal": G._half(principal), "agent_name": agent.name,
                                     "agent_id_number": agent.id_number}
    return DocSpec("power_of_attorney", [sh.page()], fields, "poa")


# --- ID card copies ---------------------------------------------------------------------------------


def _card_fields(p: S.Person) -> dict[str, str | None]:
    return {"name": p.name, "sex": p.sex, "ethnicity": p.ethnicity, "birth_date": p.birth_date.isoformat(),
            "address": p.address, "id_number": p.id_number, "issuing_authority": p.id_issuer,
            "valid_from": p.id_valid_from.isoformat(),
            "valid_until": p.id_valid_until.isoformat() if p.id_valid_until else None}


def _paste(page: S.Canvas, card: S.Canvas, x: int, y: int, f: float) -> None:
    """Pastes `card` scaled by `f` (a copy at natural size is 1/1.6 of the enlarged one)."""
    w, h = card.size
    page.image.paste(card.image.resize((round(w * f), round(h * f)), Image.Resampling.LANCZOS), (x, y))
    for t in card.texts:
        b = t.box
        page.texts.append(replace(t, x=t.x * f + x, y=t.y * f + y, size=max(1, round(t.size * f)),
                                  box=(b[0] * f + x, b[1] * f + y, b[2] * f + x, b[3] * f + y)))


def _copy_notes(page: S.Canvas, rng: random.Random, holder: str, y: float, on: date) -> None:
    r = rng.random()
    serif = rng.random() < 0.5
    if r < 0.2:  # the window clerk's check, with the clerk's name
        clerk = G.make_person(rng, on).name
        page.text(900, y, "经核验与原件一致", 34, serif=serif, fill=S.SEAL_RED)
        page.text(900, y + 52, f"核验人：{clerk}", 34, serif=serif, fill=S.SEAL_RED)
    elif r < 0.4:
        page.text(220, y, rng.choice(("本人承诺此复印件与原件相符", "本复印件仅用于办理登记手续")), 36, serif=serif)
        page.text(220, y + 60, f"签名：{holder}", 38, bold=True, serif=not serif)


def id_copy(rng: random.Random, p: S.Person, on: date, *, front_only: bool = False) -> DocSpec:
    front = S.render_id_card_front(p, rng)
    back = S.render_id_card_back(p, rng)
    fields = _card_fields(p)
    if front_only:
        for k in ("issuing_authority", "valid_from", "valid_until"):
            fields.pop(k)
    style = rng.random()
    pages: list[PageSpec] = []
    if front_only:
        cv = S.Canvas(S.A4_SIZE)
        f = 1.0 if rng.random() < 0.6 else 0.7
        _paste(cv, front, 280 + rng.randrange(-80, 80), 300 + rng.randrange(0, 300), f)
        _copy_notes(cv, rng, p.name, 1700, on)
        pages.append(PageSpec(cv.image, list(cv.texts), "id_card", "front"))
    elif style < 0.45:  # stacked at the enlarged size, either side first
        cv = S.Canvas(S.A4_SIZE)
        if rng.random() < 0.3:
            cv.text(S.A4_SIZE[0] / 2, 120, rng.choice(("身份证复印件（正反面）", "居民身份证复印件")), 40, align="m")
        first, second = (front, back) if rng.random() < 0.7 else (back, front)
        x = (S.A4_SIZE[0] - S.CARD_SIZE[0]) // 2 + rng.randrange(-50, 50)
        cv.paste(first, x, 220 + rng.randrange(0, 60))
        cv.paste(second, x, 1060 + rng.randrange(0, 80))
        _copy_notes(cv, rng, p.name, 1900, on)
        pages.append(PageSpec(cv.image, list(cv.texts), "id_card", "both"))
    elif style < 0.75:  # side by side at about natural size
        cv = S.Canvas(S.A4_SIZE)
        f = 0.72
        left, right = (front, back) if rng.random() < 0.75 else (back, front)
        y = 300 + rng.randrange(0, 400)
        _paste(cv, left, 30, y, f)
        _paste(cv, right, 30 + round(S.CARD_SIZE[0] * f) + 30, y + rng.randrange(-20, 20), f)
        _copy_notes(cv, rng, p.name, y + 700, on)
        pages.append(PageSpec(cv.image, list(cv.texts), "id_card", "both"))
    else:  # two pages, each side on its own
        for side, card in (("front", front), ("back", back)):
            cv = S.Canvas(S.A4_SIZE)
            cv.paste(card, (S.A4_SIZE[0] - S.CARD_SIZE[0]) // 2, 400 + rng.randrange(0, 300))
            if side == "front":
                _copy_notes(cv, rng, p.name, 1500, on)
            pages.append(PageSpec(cv.image, list(cv.texts), "id_card", side))
        if rng.random() < 0.25:
            pages.reverse()
    return DocSpec("id_card", pages, fields, "id")


def id_copies_together(rng: random.Random, a: S.Person, b: S.Person) -> tuple[DocSpec, DocSpec]:
    """The legal representative's and the agent's cards copied together: both fronts on one
    page and both backs on another, or all four sides on one page."""
    cards = [(S.render_id_card_front(p, rng), S.render_id_card_back(p, rng)) for p in (a, b)]
    f = 0.72
    cw, ch = round(S.CARD_SIZE[0] * f), round(S.CARD_SIZE[1] * f)
    if rng.random() < 0.5:
        pages = []
        for side, k in (("front", 0), ("back", 1)):
            cv = S.Canvas(S.A4_SIZE)
            _paste(cv, cards[0][k], (S.A4_SIZE[0] - cw) // 2, 260, f)
            _paste(cv, cards[1][k], (S.A4_SIZE[0] - cw) // 2, 260 + ch + 300, f)
            pages.append(PageSpec(cv.image, list(cv.texts), "id_card", side))
    else:
        cv = S.Canvas(S.A4_SIZE)
        for row, (fr, bk) in enumerate(cards):
            y = 240 + row * (ch + 360)
            _paste(cv, fr, 30, y, f)
            _paste(cv, bk, 60 + cw, y, f)
        pages = [PageSpec(cv.image, list(cv.texts), "id_card", "both")]
    return (DocSpec("id_card", pages, _card_fields(a), "id"), DocSpec("id_card", pages, _card_fields(b), "id"))


# --- commitment letters ----------------------------------------------------------------------------

_REPLACED = {
    "premises": ("住所（经营场所）使用证明", "住所使用证明", "经营场所使用证明", "住所使用证明材料"),
    "food_rules": ("食品安全管理制度", "食品安全规章制度", "食品安全管理制度文本"),
}


def commitment(rng: random.Random, signer: S.Person, item_name: str, what: str, signed: date) -> DocSpec:
    material = rng.choice(_REPLACED[what])
    sh = _Sheet(rng, "commitment_letter", typed=False)
    sh.title(rng.choice(("告知承诺书", "证明事项告知承诺书", f"{material}告知承诺书")), 54)
    style = rng.random()
    if style < 0.5:
        w = sh.x1 - sh.x0
        rows = [[Cell("事项名称", bold=True), Cell(item_name)],
                [Cell(rng.choice(("承诺事项", "以承诺替代的材料", "免于提交的材料")), bold=True), Cell(f"《{material}》")],
                [Cell("承诺人", bold=True), Cell(signer.name)],
                [Cell("身份证件号码", bold=True), Cell(signer.id_number)]]
        sh.y = grid(sh.cv, sh.x0, sh.y, (420, w - 420), rows, size=sh.size, serif=sh.serif) + 50
        sh.text_line("承诺人已知晓行政机关告知的全部内容，自愿以告知承诺的方式办理上述事项，"
                     "所作承诺真实、准确，如有不实，愿意承担相应的法律责任并接受相关处理。")
    else:
        sh.text_line(f"办理事项：{item_name}")
        sh.y += 10
        sh.text_line(f"承诺人{signer.name}（身份证件号码：{id_text(signer.id_number, rng, 0.1)}）在办理{item_name}时，"
                     f"对{material}作出如下承诺：本人已知晓告知的全部内容，所述情况属实，"
                     f"以本承诺书替代提交{material}。")
        sh.text_line("如有虚假承诺，本人自愿承担相应的法律责任。")
    sh.y += 100
    sh.blanks([(rng.choice(("承诺人（签字）", "承诺人签名")), signer.name, 360)])
    sh.blanks([("日期", date_text(signed, rng), 420)])
    return DocSpec("commitment_letter", [sh.page()],
                   {"signer_name": signer.name, "signer_id_number": signer.id_number}, "commitment")


# --- packets -------------------------------------------------------------------------------------------

_ID_OUTCOMES = {"present": 60, "expired": 7, "front_only": 5, "someone_else": 4, "missing": 7,
                "reused": 8, "reused_over_expired": 3, "form_bad_check_digit": 3, "card_typo": 3}
_PREMISES = {"property": 30, "lease": 34, "lease_ended": 9, "committed": 15, "missing": 12}


def _pick(rng: random.Random, table: dict[str, float]) -> str:
    r = rng.random() * sum(table.values())
    for k, w in table.items():
        r -= w
        if r <= 0:
            return k
    return next(iter(table))


def _cert(p: S.Person, rng: random.Random, *, valid: bool = True) -> ReusableCertificate:
    return ReusableCertificate(f"cert-{rng.randrange(10**6)}", "id_card", p.id_number, p.name,
                               p.id_number, p.id_valid_until, "valid" if valid else "expired")


class _Build:
    def __init__(self, rng: random.Random, on: date) -> None:
        self.rng, self.on = rng, on
        self.docs: list[DocSpec] = []
        self.states: dict[str, str] = {}
        self.certs: list[ReusableCertificate] = []
        self.notes: list[str] = []

    def expired_copy(self, p: S.Person) -> S.Person:
        old = G.make_person(self.rng, self.on, expired=True, region=p.region)
        return replace(old, name=p.name, id_number=p.id_number, sex=p.sex, birth_date=p.birth_date)

    def id_slot(self, slot: str, p: S.Person, *, together: bool = False) -> tuple[str, str]:
        """Draws the slot's outcome and adds its card; returns the outcome and the ID number
        the form carries. With `together` a present card is left for the caller to add."""
        rng, on = self.rng, self.on
        outcome = _pick(rng, _ID_OUTCOMES)
        self.notes.append(f"{slot}={outcome}")
        form_id = p.id_number
        if outcome == "present":
            if not together:
                self.docs.append(id_copy(rng, p, on))
            self.states[slot] = "present"
        elif outcome == "expired":
            self.docs.append(id_copy(rng, self.expired_copy(p), on))
            self.states[slot] = "invalid"
        elif outcome == "front_only":
            self.docs.append(id_copy(rng, p, on, front_only=True))
            self.states[slot] = "invalid"
        elif outcome == "someone_else":
            self.docs.append(id_copy(rng, person(rng, on), on))
            self.states[slot] = "invalid"
        elif outcome == "missing":
            self.states[slot] = "missing"
            if rng.random() < 0.3:
                self.certs.append(_cert(p, rng, valid=False))
        elif outcome == "reused":
            self.certs.append(_cert(p, rng))
            self.states[slot] = "reused"
        elif outcome == "reused_over_expired":
            self.docs.append(id_copy(rng, self.expired_copy(p), on))
            self.certs.append(_cert(p, rng))
            self.states[slot] = "reused"
        elif outcome == "form_bad_check_digit":
            form_id = S.corrupt_check_char(p.id_number, "resident_id")
            self.docs.append(id_copy(rng, p, on))
            self.states[slot] = "invalid"
            self.states["application_form"] = "invalid"
        elif outcome == "card_typo":
            bad = replace(p, id_number=S.corrupt_check_char(p.id_number, "resident_id"))
            self.docs.append(id_copy(rng, bad, on))
            self.states[slot] = "invalid"
        return outcome, form_id

    def premises(self, slot: str, holder: S.Person, lessee: str, item_name: str) -> None:
        rng, on = self.rng, self.on
        outcome = _pick(rng, _PREMISES)
        self.notes.append(f"{slot}={outcome}")
        if outcome == "property":
            self.docs.append(G.property_certificate(rng, holder, on))
            self.states[slot] = "present"
        elif outcome in ("lease", "lease_ended"):
            self.docs.append(G.lease_contract(rng, lessee, holder.region, on, ended=outcome == "lease_ended"))
            self.states[slot] = "present" if outcome == "lease" else "invalid"
        elif outcome == "committed":
            self.docs.append(commitment(rng, holder, item_name, "premises", on - timedelta(days=rng.randrange(0, 5))))
            self.states[slot] = "committed"
        else:
            self.states[slot] = "missing"


def _poa(b: _Build, principal: str, rep: S.Person | None, principal_id: str, agent: S.Person, matter: str,
         signed: date, shareholders: Sequence[str]) -> DocSpec:
    rng = b.rng
    r = rng.random()
    if r < 0.4:
        return poa_table(rng, principal, principal_id, (rep.phone if rep else ""), rep.name if rep else None,
                         agent, matter, signed)
    if r < 0.7 and shareholders:
        return poa_samr(rng, principal, shareholders, agent, signed)
    return poa_letter(rng, principal, rep.name if rep else None, agent, matter, signed)


def _agent_docs(b: _Build, principal: str, rep: S.Person | None, principal_id: str, agent: S.Person,
                matter: str, signed: date, shareholders: Sequence[str], *, card: bool = True) -> None:
    rng, on = b.rng, b.on
    r = rng.random()
    if r < 0.86:
        b.docs.append(_poa(b, principal, rep, principal_id, agent, matter, signed, shareholders))
        b.states["power_of_attorney"] = "present"
    elif r < 0.93:
        b.states["power_of_attorney"] = "missing"
    else:  # names another person as the agent
        b.docs.append(_poa(b, principal, rep, principal_id, person(rng, on), matter, signed, shareholders))
        b.states["power_of_attorney"] = "invalid"
    if not card:
        b.states["agent_id_card"] = "present"
        return
    r = rng.random()
    if r < 0.86:
        b.docs.append(id_copy(rng, agent, on))
        b.states["agent_id_card"] = "present"
    elif r < 0.93:
        b.states["agent_id_card"] = "missing"
    elif r < 0.97:
        b.docs.append(id_copy(rng, b.expired_copy(agent), on))
        b.states["agent_id_card"] = "invalid"
    else:
        b.docs.append(id_copy(rng, agent, on, front_only=True))
        b.states["agent_id_card"] = "invalid"


def _company(b: _Build) -> tuple[FormInfo, S.Region]:
    rng, on = b.rng, b.on
    rep = person(rng, on)
    company = G.make_company(rng, rep, on)
    signed = on - timedelta(days=rng.randrange(0, 15))
    b.states["application_form"] = "present"
    agent = person(rng, on) if rng.random() < 0.55 else None
    # The two cards copied together: only when both are in order, so each slot's truth
    # stays what the page shows.
    together = agent is not None and rng.random() < 0.3
    outcome, rep_id = b.id_slot("legal_rep_id_card", rep, together=together)
    if rng.random() < 0.9:
        b.docs.append(G.articles(rng, company, signed))
        b.states["articles_of_association"] = "present"
    else:
        b.states["articles_of_association"] = "missing"
    b.premises("premises_proof", rep, company.name, "有限责任公司设立登记")
    extra: list[tuple[str, S.Person]] = [("监事", person(rng, on))]
    if rng.random() < 0.4:
        extra.append(("经理" if rng.random() < 0.5 else "董事", person(rng, on)))
    shareholders = [rep.name] + ([extra[0][1].name] if rng.random() < 0.5 else [])
    if agent is None:
        b.states["power_of_attorney"] = b.states["agent_id_card"] = "not_required"
        b.notes.append("no agent")
    else:
        matter = f"代为办理{company.name}设立登记的相关手续"
        both = together and outcome == "present"
        _agent_docs(b, company.name, rep, "", agent, matter, signed, shareholders, card=not both)
        if both:
            d1, d2 = id_copies_together(rng, rep, agent)
            b.docs += [d1, d2]
            b.notes.append("cards copied together")
        b.notes.append("agent")
    info = FormInfo("company-establishment", company.name, (rep.name, rep_id), agent,
                    agent.id_number if agent else "", (agent or rep).phone if rng.random() < 0.5 else rep.phone,
                    company.address, signed, extra=extra, capital=company.registered_capital,
                    rep_phone=rep.phone)
    return info, rep.region


def _food(b: _Build) -> tuple[FormInfo, S.Region]:
    rng, on = b.rng, b.on
    rep = person(rng, on)
    outcome = _pick(rng, {"present": 66, "bad_check_digit": 6, "ended": 6, "missing": 7, "reused": 10,
                          "other_company": 5})
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
        b.certs.append(ReusableCertificate(f"cert-{rng.randrange(10**6)}", "business_license",
                                           company.credit_code, company.name, company.credit_code,
                                           company.term_until))
        b.states["business_license"] = "reused"
    else:
        b.states["business_license"] = "missing"
    _, rep_id = b.id_slot("legal_rep_id_card", rep)
    r = rng.random()
    if r < 0.78:
        b.docs.append(G.food_rules(rng, company, company.established))
        b.states["food_safety_rules"] = "present"
    elif r < 0.9:
        b.docs.append(commitment(rng, rep, "食品经营许可证核发", "food_rules", on - timedelta(days=rng.randrange(0, 4))))
        b.states["food_safety_rules"] = "committed"
    else:
        b.states["food_safety_rules"] = "missing"
    if rng.random() < 0.9:
        b.docs.append(G.layout(rng, company))
        b.states["premises_layout"] = "present"
    else:
        b.states["premises_layout"] = "missing"
    extra = [("食品安全管理人员", person(rng, on))] if rng.random() < 0.5 else []
    info = FormInfo("food-business-license", company.name, (rep.name, rep_id), None, "", rep.phone,
                    company.address, signed, credit_code=company.credit_code, extra=extra)
    return info, rep.region


def _individual(b: _Build) -> tuple[FormInfo, S.Region]:
    rng, on = b.rng, b.on
    op = person(rng, on)
    shop = G.shop_name(rng, op)
    signed = on - timedelta(days=rng.randrange(0, 15))
    b.states["application_form"] = "present"
    outcome, op_id = b.id_slot("operator_id_card", op)
    b.premises("premises_proof", op, rng.choice((op.name, shop)), "个体工商户设立登记")
    extra = [("家庭成员", person(rng, on))] if rng.random() < 0.2 else []
    agent = None
    # An agent only beside the operator's own card: the operator's slot stays unambiguous.
    if outcome == "present" and rng.random() < 0.3:
        agent = person(rng, on)
        b.docs.append(_poa(b, op.name, None, op.id_number, agent, f"代为办理{shop}设立登记手续", signed, ()))
        b.docs.append(id_copy(rng, agent, on))
        b.notes.append("agent")
    info = FormInfo("individual-business-registration", op.name, None, agent,
                    agent.id_number if agent else "", op.phone, G._address(rng, op.region), signed,
                    operator_id=op_id, business_name=shop, extra=extra,
                    scope=rng.choice(("小吃服务；食品销售", "日用百货零售", "水果零售", "餐饮服务")))
    return info, op.region


def application_form(rng: random.Random, f: FormInfo, region: S.Region) -> DocSpec:
    if f.item == "company-establishment":
        style = "company_blanks" if rng.random() < 0.55 else "company_table"
        pages = (company_blanks_form if style == "company_blanks" else company_table_form)(rng, f, region)
        truth = _truth(f.item, applicant_name=f.name, applicant_id=None, rep=f.rep,
                       agent=(f.agent.name, f.agent_id) if f.agent else None, phone=f.phone,
                       address=f.address, signed=f.signed)
    elif f.item == "food-business-license":
        style = "food"
        pages = food_form(rng, f, region)
        truth = _truth(f.item, applicant_name=f.name, applicant_id=f.credit_code, rep=f.rep, agent=None,
                       phone=f.phone, address=f.address, signed=f.signed)
    else:
        style = "individual"
        pages = individual_form(rng, f)
        truth = _truth(f.item, applicant_name=f.name, applicant_id=f.operator_id, rep=None,
                       agent=(f.agent.name, f.agent_id) if f.agent else None, phone=f.phone,
                       address=f.address, signed=f.signed, business_name=f.business_name)
    return DocSpec("application_form", pages, truth, style)


_BUILDERS = {"company-establishment": _company, "food-business-license": _food,
             "individual-business-registration": _individual}


def build_packet(seed: int, index: int, *, acceptance_date: date | None = None,
                 item_code: str | None = None) -> Packet:
    rng = random.Random(f"bench-rules-blind/{seed}/{index}")
    on = acceptance_date or date(2025, 2, 10) + timedelta(days=rng.randrange(0, 600))
    item = item_code or G.ITEMS[index % len(G.ITEMS)]
    b = _Build(rng, on)
    info, region = _BUILDERS[item](b)
    form_doc = application_form(rng, info, region)
    b.notes.append(form_doc.tag)
    if b.states.get("application_form") != "invalid":
        b.states["application_form"] = "present"
    rest = list(b.docs)
    rng.shuffle(rest)
    r = rng.random()
    docs = [form_doc, *rest] if r < 0.6 else [*rest, form_doc] if r < 0.75 else [*rest[:1], form_doc, *rest[1:]]
    # Pages once each (two people's cards may share pages), in handing-over order.
    pages: list[PageSpec] = []
    for d in docs:
        for p in d.pages:
            if not any(p is q for q in pages):
                pages.append(p)
                if rng.random() < 0.05:  # the empty back of a duplex-scanned sheet
                    pages.append(G.blank_page())
    if rng.random() < 0.18:
        rng.shuffle(pages)
        b.notes.append("pages shuffled")
    for p in pages:
        p.level = "medium" if rng.random() < 0.3 else "light"
        if p.material_type != "blank" and rng.random() < (0.18 if p.material_type == "id_card" else 0.06):
            p.rotate = rng.choice((90, 270, 180))
    positions = [tuple(next(k for k, q in enumerate(pages, 1) if q is p) for p in d.pages) for d in docs]
    ok = ("present", "reused", "committed", "not_required")
    status = "complete" if all(s in ok for s in b.states.values()) else "incomplete"
    return Packet(f"B{seed}-{index:04d}-{item}", item, on, pages, list(zip(docs, positions, strict=True)),
                  dict(b.states), status, b.certs, b.notes)


# --- noisy mode ------------------------------------------------------------------------------------

_HOMOGLYPHS = {"已": "己", "未": "末", "人": "入", "日": "曰", "士": "土", "拨": "拔"}
_KEYS = ("代理", "受托", "委托", "经办", "指定代表", "法定代表", "负责人", "经营者", "承诺", "申请",
         "身份", "证件", "号码", "姓名", "名称", "使用证明", "管理制度", "规章制度", "有效期", "期限",
         "核验", "签字", "签名", "股东", "监事", "经理", "董事", "家庭成员", "食品安全管理人员")


def _rows(texts: Sequence[S.TextOp]) -> list[list[S.TextOp]]:
    rows: list[list[S.TextOp]] = []
    for t in sorted(texts, key=lambda t: t.box[1]):
        mid = (t.box[1] + t.box[3]) / 2
        if rows:
            r0 = rows[-1]
            top = min(x.box[1] for x in r0)
            bottom = max(x.box[3] for x in r0)
            if top <= mid <= bottom:
                r0.append(t)
                continue
        rows.append([t])
    return [sorted(r, key=lambda t: t.box[0]) for r in rows]


def _confidence(rng: random.Random) -> float:
    r = rng.random()
    if r < 0.01:
        return rng.uniform(0.40, 0.65)
    if r < 0.07:
        return rng.uniform(0.72, 0.9)
    return rng.uniform(0.93, 0.999)


def _garble(text: str, rng: random.Random) -> str:
    """Character-level misreads that leave the meaning to a human unchanged."""
    if any(k in text for k in _KEYS) or any(c.isdigit() for c in text):
        out = text
        if "号" in out and rng.random() < 0.15:  # "3号楼" read as "3亏楼", only after a digit
            out = "".join("亏" if c == "号" and i and out[i - 1].isdigit() else c for i, c in enumerate(out))
    elif len(text) >= 12:  # prose: no value, no label
        out = "".join(_HOMOGLYPHS.get(c, c) if rng.random() < 0.25 else c for c in text)
    else:
        out = text
    if "：" in out and rng.random() < 0.15:
        out = out.replace("：", ":")
    if "X" in out and rng.random() < 0.3:
        out = out.replace("X", "x")
    return out


def noisy_page(n: int, spec: PageSpec, rng: random.Random) -> OcrPage:
    """The blind split's OCR-free noise: a row's boxes merged into one line (8 % of rows),
    a 'label：value' box split into two with a gap (10 %), an ID number in boxes read in two
    pieces (20 %), '号'→'亏' after a digit, homoglyphs in words that carry no value, '：'→':',
    X→x, and confidences mostly 0.93-0.999 with 6 % at 0.72-0.9 and 1 % at 0.40-0.65."""
    lines: list[OcrLine] = []
    for row in _rows(spec.texts):
        if len(row) > 1 and rng.random() < 0.08:
            text = " ".join(t.text for t in row)
            box = (min(t.box[0] for t in row), min(t.box[1] for t in row),
                   max(t.box[2] for t in row), max(t.box[3] for t in row))
            lines.append(OcrLine(_garble(text, rng), _confidence(rng), tuple(float(v) for v in box)))  # type: ignore[arg-type]
            continue
        for t in row:
            b = [float(v) for v in t.box]
            text = t.text
            k = text.find("：")
            if 0 < k < len(text) - 1 and rng.random() < 0.10:
                cut = b[0] + (b[2] - b[0]) * (k + 1) / len(text)
                lines.append(OcrLine(_garble(text[:k + 1], rng), _confidence(rng), (b[0], b[1], cut - 4, b[3])))
                lines.append(OcrLine(_garble(text[k + 1:], rng), _confidence(rng), (cut + 14, b[1], b[2], b[3])))
                continue
            if len(text) == 18 and text[:17].isdigit() and rng.random() < 0.2:
                k = rng.choice((6, 10, 14))
                cut = b[0] + (b[2] - b[0]) * k / 18
                lines.append(OcrLine(_garble(text[:k], rng), _confidence(rng), (b[0], b[1], cut - 2, b[3])))
                lines.append(OcrLine(_garble(text[k:], rng), _confidence(rng), (cut + 2, b[1], b[2], b[3])))
                continue
            lines.append(OcrLine(_garble(text, rng), _confidence(rng), tuple(b)))  # type: ignore[arg-type]
    return OcrPage(f"page-{n}.png", 1, "ocr", float(S.A4_SIZE[0]), float(S.A4_SIZE[1]), tuple(lines),
                   blank=not lines)


# --- ocr mode ----------------------------------------------------------------------------------------


def _fax(arr: np.ndarray, rng: random.Random) -> np.ndarray:
    """150 dpi, thresholded like a fax or a cheap copier's text mode, then back to size."""
    h, w = arr.shape
    small = cv2.resize(arr, (int(w * 0.75), int(h * 0.75)), interpolation=cv2.INTER_AREA)
    t = rng.uniform(150, 185)
    small = np.where(small < t, 25, 245).astype(np.uint8)
    return cv2.resize(small, (w, h), interpolation=cv2.INTER_NEAREST)


def _faint(arr: np.ndarray, rng: random.Random) -> np.ndarray:
    """Toner running out: ink only 45-60 % as dark."""
    k = rng.uniform(0.45, 0.6)
    return (255 - (255 - arr.astype(np.float32)) * k).clip(0, 255).astype(np.uint8)


def _moire(arr: np.ndarray, rng: random.Random) -> np.ndarray:
    h, w = arr.shape
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    a = rng.uniform(0, math.pi)
    period = rng.uniform(5, 9)
    pattern = np.sin((xs * math.cos(a) + ys * math.sin(a)) * 2 * math.pi / period)
    return (arr.astype(np.float32) + rng.uniform(8, 14) * pattern).clip(0, 255).astype(np.uint8)


def _perspective(arr: np.ndarray, rng: random.Random) -> np.ndarray:
    """A page photographed from slightly off-centre: corners moved by up to 1.5 %."""
    h, w = arr.shape
    d = 0.015
    src = np.array([[0, 0], [w, 0], [w, h], [0, h]], np.float32)
    dst = src + np.array([[rng.uniform(0, d) * w, rng.uniform(0, d) * h],
                          [-rng.uniform(0, d) * w, rng.uniform(0, d) * h],
                          [-rng.uniform(0, d) * w, -rng.uniform(0, d) * h],
                          [rng.uniform(0, d) * w, -rng.uniform(0, d) * h]], np.float32)
    m = cv2.getPerspectiveTransform(src, dst)
    return cv2.warpPerspective(arr, m, (w, h), flags=cv2.INTER_LINEAR, borderValue=235)


def _jpeg(arr: np.ndarray, rng: random.Random) -> np.ndarray:
    buf = io.BytesIO()
    Image.fromarray(arr, "L").save(buf, "JPEG", quality=rng.randint(30, 45))
    return np.asarray(Image.open(io.BytesIO(buf.getvalue())).convert("L"))


_DEGRADATIONS = (("fax", _fax, 0.15), ("faint", _faint, 0.15), ("moire", _moire, 0.12),
                 ("perspective", _perspective, 0.15), ("jpeg", _jpeg, 0.2))


def scan(spec: PageSpec, rng: random.Random) -> Image.Image:
    """The sample scanner (grey), then independently a fax-like 150 dpi threshold, faint
    toner, moiré, a slight perspective and heavy JPEG; the page's rotation last."""
    img = S.degrade(spec.image, rng, level=spec.level, grey=True)
    arr = np.asarray(img.convert("L"))
    for _name, fn, p in _DEGRADATIONS:
        if rng.random() < p:
            arr = fn(arr, rng)
    out = Image.fromarray(np.ascontiguousarray(arr), "L")
    if spec.rotate % 360:
        out = out.rotate(-spec.rotate, expand=True, fillcolor=245)
    return out

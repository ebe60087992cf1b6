# ruff: noqa: E501  (data tables of Chinese text read better unwrapped)
"""Template families of the *tuning* split beyond the generator's first renderers: forms
laid out like the SAMR company-registration application (指定代表/委托代理人 section,
check boxes, four-column rows), grids with the label printed above the value, labels in
other orders with bracketed notes, powers of attorney that name the agent only in their
body text or in a ruled table, the SAMR 指定代表或者共同委托代理人授权委托书, and ID card
photocopies annotated by the applicant.

The held-out split has its own families in `bench/rules/heldout.py`; nothing here is
copied from there (see bench/rules/README.md for how the two are kept apart).
"""

from __future__ import annotations

import random
from datetime import date, timedelta
from typing import TYPE_CHECKING

from bench.rules.layout import Cell, box, grid, spaced
from bench.rules.samples_api import cn_date
from bench.rules.samples_api import samples as S

if TYPE_CHECKING:
    from bench.rules.generator import FormData, PageSpec


def _writer(rng: random.Random) -> tuple[S.Canvas, bool, int]:
    return S.Canvas(S.A4_SIZE), rng.random() < 0.5, rng.choice((34, 36, 38))


def _title(cv: S.Canvas, text: str, y: float, serif: bool, size: int = 64) -> float:
    cv.text(S.A4_SIZE[0] / 2, y, text, size, bold=True, serif=serif, align="m")
    return y + size + 60


def _spaced_name(name: str, rng: random.Random) -> str:
    """How an applicant may write a two-character name on a form: "王　伟"."""
    if len(name) == 2 and rng.random() < 0.4:
        return name[0] + rng.choice((" ", "\u3000")) + name[1]
    return name


def samr_form(rng: random.Random, f: FormData, title: str, item_name: str,
              date_text: str) -> list[PageSpec]:
    """The SAMR company-registration application: a ruled table of 基本信息, the legal
    representative's row, a 指定代表/委托代理人 section with check boxes, four-column rows."""
    from bench.rules.generator import PageSpec

    cv, serif, size = _writer(rng)
    y = _title(cv, title, 170.0, serif)
    cv.text(160, y, "注：请仔细阅读本申请书《填写说明》，按要求填写。", 28, serif=serif)
    y += 60
    widths = [300, 460, 300, 460]
    rows: list[list[Cell]] = [[Cell("□基本信息", span=4, bold=True)]]
    rows.append([Cell(spaced("名称", rng), bold=True), Cell(f.applicant_name, span=3)])
    if f.applicant_id:
        rows.append([Cell("统一社会信用代码", bold=True), Cell(f.applicant_id, span=3)])
    rows.append([Cell(spaced("住所", rng), bold=True), Cell(f.address, span=3)])
    rows.append([Cell("联系电话", bold=True), Cell(f.phone),
                 Cell("邮政编码", bold=True), Cell(f"{rng.randrange(100000, 999999)}")])
    rows.append([Cell("申请事项", bold=True),
                 Cell(f"{box(True)}{item_name} {box(False)}变更 {box(False)}备案", span=3)])
    if f.legal_rep:
        rows.append([Cell("法定代表人姓名", bold=True), Cell(_spaced_name(f.legal_rep[0], rng)),
                     Cell("身份证件类型", bold=True), Cell(f"{box(True)}居民身份证")])
        rows.append([Cell("身份证件号码", bold=True), Cell(f.legal_rep[1], span=3)])
    head = rng.choice(("指定代表/委托代理人", "指定代表或者委托代理人信息", "委托代理人信息"))
    if f.agent:
        rows.append([Cell(head, span=4, bold=True)])
        name_label = rng.choice(("姓名", "姓　　名", "代理人姓名"))
        order = rng.random() < 0.5
        name_row = [Cell(name_label, bold=True), Cell(_spaced_name(f.agent[0], rng)),
                    Cell("联系电话", bold=True), Cell(f.phone)]
        id_row = [Cell(rng.choice(("身份证件号码", "证件号码", "身份证号码")), bold=True),
                  Cell(f.agent[1], span=3)]
        rows += [name_row, id_row] if order else [name_row,
                                                 [Cell("身份证件类型", bold=True),
                                                  Cell(f"{box(True)}居民身份证 {box(False)}其他", span=3)],
                                                 id_row]
        rows.append([Cell("委托权限", bold=True), Cell(
            f"1.同意{box(True)}不同意{box(False)}核对登记材料中的复印件并签署核对意见；"
            f"2.同意{box(True)}不同意{box(False)}修改有关表格的填写错误", span=3)])
    elif rng.random() < 0.5:
        rows.append([Cell(head, span=4, bold=True)])
        rows.append([Cell("姓名", bold=True), Cell(rng.choice(("", "无", "/"))),
                     Cell("联系电话", bold=True), Cell("")])
    if f.business_name:
        rows.insert(1, [Cell("个体工商户名称", bold=True), Cell(f.business_name, span=3)])
    y = grid(cv, 150, y, widths, rows, size=size, serif=serif) + 50
    cv.text(200, y, "本申请人承诺所提交的材料真实有效。", size, serif=serif)
    y += 120
    cv.text(S.A4_SIZE[0] - 180, y, f"申请人（签字或盖章）：{f.applicant_name}", size,
            serif=serif, align="r")
    y += 80
    cv.text(S.A4_SIZE[0] - 180, y, date_text, size, serif=serif, align="r")
    return [PageSpec(cv.image, list(cv.texts), "application_form")]


def grid_above_form(rng: random.Random, f: FormData, title: str, item_name: str,
                    date_text: str) -> list[PageSpec]:
    """A two-column grid whose cells print a small label above the value."""
    from bench.rules.generator import PageSpec

    cv, serif, size = _writer(rng)
    y = _title(cv, title, 190.0, serif)
    cells: list[tuple[str, str]] = [("申请事项", item_name)]
    if f.business_name:
        cells.append(("个体工商户名称", f.business_name))
        cells.append(("经营者姓名", f.applicant_name))
        cells.append(("经营者身份证号码", f.applicant_id or ""))
    else:
        cells.append((rng.choice(("企业名称", "申请人名称")), f.applicant_name))
        if f.applicant_id:
            cells.append(("统一社会信用代码", f.applicant_id))
    if f.legal_rep:
        cells.append((rng.choice(("法定代表人姓名", "法定代表人（负责人）")), f.legal_rep[0]))
        cells.append(("法定代表人身份证件号码", f.legal_rep[1]))
    if f.agent:
        cells.append((rng.choice(("委托代理人姓名", "经办人姓名")), f.agent[0]))
        cells.append((rng.choice(("委托代理人身份证件号码", "经办人身份证号码")), f.agent[1]))
    cells.append(("联系电话", f.phone))
    cells.append(("住所（经营场所）", f.address))
    cells.append(("申请日期", date_text))
    rows: list[list[Cell]] = []
    k = 0
    while k < len(cells):
        label, value = cells[k]
        long = len(value) > 16
        if long or k + 1 >= len(cells) or len(cells[k + 1][1]) > 16:
            rows.append([Cell(value, span=2, above=label)])
            k += 1
        else:
            l2, v2 = cells[k + 1]
            rows.append([Cell(value, above=label), Cell(v2, above=l2)])
            k += 2
    y = grid(cv, 150, y, [760, 760], rows, size=size, serif=serif) + 60
    cv.text(200, y, "申请人声明：以上信息真实、准确。", size, serif=serif)
    y += 100
    cv.text(S.A4_SIZE[0] - 200, y, "申请人（签字）：", size, serif=serif, align="r")
    return [PageSpec(cv.image, list(cv.texts), "application_form")]


def noted_form(rng: random.Random, f: FormData, title: str, item_name: str,
               date_text: str) -> list[PageSpec]:
    """"label（note）：value" lines, agent before the legal representative, the ID number
    before the name inside a person's block, check boxes for the ID type."""
    from bench.rules.generator import PageSpec

    cv, serif, size = _writer(rng)
    y = _title(cv, title, 200.0, serif)
    x = 170
    lines: list[str] = [f"申请事项：{box(True)}{item_name}"]
    if f.business_name:
        lines += [f"个体工商户名称（字号）：{f.business_name}",
                  f"经营者姓名（签字）：{f.applicant_name}",
                  f"经营者身份证号码：{f.applicant_id}"]
    else:
        lines.append(f"企业名称（全称）：{f.applicant_name}")
        if f.applicant_id:
            lines.append(f"统一社会信用代码（18位）：{f.applicant_id}")
    people: list[list[str]] = []
    if f.legal_rep:
        block = [rng.choice(("法定代表人信息", "法定代表人（负责人）信息"))]
        pair = [f"姓名：{f.legal_rep[0]}", f"身份证件类型：{box(True)}身份证 {box(False)}护照",
                f"身份证件号码：{f.legal_rep[1]}"]
        if rng.random() < 0.4:
            pair = [pair[2], pair[1], pair[0]]
        people.append(block + pair)
    if f.agent:
        block = [rng.choice(("委托代理人（经办人）信息", "委托代理人信息", "经办人信息"))]
        pair = [f"姓名：{f.agent[0]}", f"联系电话：{f.phone}", f"身份证件号码：{f.agent[1]}"]
        if rng.random() < 0.4:
            pair = [pair[2], pair[0], pair[1]]
        people.append(block + pair)
    if rng.random() < 0.5:
        people.reverse()
    for block in people:
        lines.append("\x00" + block[0])
        lines += ["\x01" + ln for ln in block[1:]]
    lines += [f"联系电话（手机）：{f.phone}", f"住所（经营场所）：{f.address}",
              f"申请日期：{date_text}"]
    for ln in lines:
        bold = ln.startswith("\x00")
        indent = 40 if ln.startswith("\x01") else 0
        text = ln.lstrip("\x00\x01")
        for k, part in enumerate(S.wrap_text(text, size, S.A4_SIZE[0] - 2 * x - indent,
                                             serif=serif)):
            cv.text(x + (indent if k == 0 else 0), y, part, size, bold=bold, serif=serif)
            y += size + 26
        y += 4
    y += 80
    cv.text(S.A4_SIZE[0] - x, y, f"申请人（签章）：{f.applicant_name}", size, serif=serif,
            align="r")
    return [PageSpec(cv.image, list(cv.texts), "application_form")]


def people_table_form(rng: random.Random, f: FormData, title: str, item_name: str,
                      date_text: str) -> list[PageSpec]:
    """The applicant as label/value rows, the people as a table whose first row heads the
    columns (who | 姓名 | 证件号码 | 手机) with one row per person; or transposed, people
    heading the columns and the attributes down the side."""
    from bench.rules.generator import PageSpec

    cv, serif, size = _writer(rng)
    y = _title(cv, title, 180.0, serif)
    rows: list[list[Cell]] = [[Cell("申请事项", bold=True), Cell(item_name, span=3)]]
    if f.business_name:
        rows.append([Cell("个体工商户名称", bold=True), Cell(f.business_name, span=3)])
        rows.append([Cell("经营者姓名", bold=True), Cell(f.applicant_name, span=3)])
        rows.append([Cell("经营者身份证号码", bold=True), Cell(f.applicant_id or "", span=3)])
    else:
        rows.append([Cell("企业名称", bold=True), Cell(f.applicant_name, span=3)])
        if f.applicant_id:
            rows.append([Cell("统一社会信用代码", bold=True), Cell(f.applicant_id, span=3)])
    rows.append([Cell("住所", bold=True), Cell(f.address, span=3)])
    y = grid(cv, 150, y, [360, 380, 380, 400], rows, size=size, serif=serif) + 40
    people: list[tuple[str, str, str]] = []
    if f.legal_rep:
        people.append(("法定代表人", f.legal_rep[0], f.legal_rep[1]))
    if f.agent:
        people.append((rng.choice(("委托代理人", "指定代表")), f.agent[0], f.agent[1]))
    if people:
        cv.text(160, y, "相关人员信息", size, bold=True, serif=serif)
        y += size + 30
        corner = rng.choice(("", "类别", "人员"))
        if rng.random() < 0.6:
            attrs = [("姓名", 1), (rng.choice(("身份证号码", "证件号码")), 2), ("手机", 3)]
            if rng.random() < 0.4:
                attrs = [attrs[1], attrs[0], attrs[2]]
            table = [[Cell(corner, bold=True), *(Cell(a, bold=True) for a, _ in attrs)]]
            for role, name, idn in people:
                vals = {1: name, 2: idn, 3: f.phone}
                table.append([Cell(role, bold=True), *(Cell(vals[k]) for _, k in attrs)])
            y = grid(cv, 150, y, [300, 330, 560, 330], table, size=size, serif=serif)
        else:
            table = [[Cell(corner, bold=True), *(Cell(role, bold=True) for role, _, _ in people)]]
            table.append([Cell("姓名", bold=True), *(Cell(n) for _, n, _ in people)])
            table.append([Cell("身份证号码", bold=True), *(Cell(i) for _, _, i in people)])
            widths = [320, 560, 560] if len(people) == 2 else [320, 1120]
            y = grid(cv, 150, y, widths, table, size=size, serif=serif)
    y += 50
    cv.text(160, y, f"联系电话：{f.phone}", size, serif=serif)
    cv.text(160, y + 70, f"申请日期：{date_text}", size, serif=serif)
    return [PageSpec(cv.image, list(cv.texts), "application_form")]


FORM_FAMILIES = {"samr": samr_form, "grid_above": grid_above_form, "noted": noted_form,
                 "people_table": people_table_form}


# --- powers of attorney ----------------------------------------------------------------------


def poa_body(rng: random.Random, principal: str, agent: S.Person, matter: str,
             signed: date) -> tuple[list[S.Block], dict[str, str | None]]:
    """The agent named only in the body: "兹委托……为我方代理人"."""
    idn = agent.id_number
    opening = rng.choice((
        f"兹委托{agent.name}（身份证号码：{idn}）为我方代理人，",
        f"兹委托我公司员工{agent.name}同志（身份证号：{idn}）为我方代理人，",
        f"兹全权委托{agent.name}（公民身份号码{idn}）为我单位代理人，",
        f"我单位兹委托{agent.name}为我方代理人（身份证号码：{idn}），",
    ))
    blocks = [
        S.Block("title", rng.choice(("授权委托书", "委托书"))),
        S.Block("gap", extra="30"),
        S.Block("line", f"{rng.choice(('致', '至'))}：{rng.choice(('市场监督管理局', '行政审批服务局'))}"),
        S.Block("para", f"{opening}{matter}。代理人在办理上述事项过程中所签署的有关文件，"
                        "我方均予以承认，由此产生的法律后果由我方承担。"),
        S.Block("para", f"委托期限：自{cn_date(signed)}起至{cn_date(signed + timedelta(days=60))}止。"),
        S.Block("para", "代理人无转委托权。特此委托。"),
        S.Block("gap", extra="100"),
        S.Block("right", f"委托人（盖章）：{principal}"),
        S.Block("right", f"日期：{cn_date(signed)}"),
    ]
    return blocks, {"agent_name": agent.name, "agent_id_number": idn}


def poa_table(rng: random.Random, principal: str, agent: S.Person, matter: str,
              signed: date) -> tuple[S.Canvas, dict[str, str | None]]:
    """A ruled table: 委托人 / 受托人 rows with the ID number beside the name."""
    cv, serif, size = _writer(rng)
    y = _title(cv, "授权委托书", 200.0, serif)
    rows = [
        [Cell("委托人", bold=True), Cell(principal, span=3)],
        [Cell(rng.choice(("受托人", "受托人（代理人）")), bold=True), Cell(agent.name),
         Cell("身份证号码", bold=True), Cell(agent.id_number)],
        [Cell("联系电话", bold=True), Cell(agent.phone, span=3)],
        [Cell("委托事项", bold=True), Cell(matter, span=3)],
        [Cell("委托权限", bold=True),
         Cell(f"{box(True)}代为提交材料 {box(True)}代为领取证照 {box(False)}代为签署文件", span=3)],
    ]
    y = grid(cv, 150, y, [300, 420, 300, 500], rows, size=size, serif=serif) + 120
    cv.text(S.A4_SIZE[0] - 180, y, f"委托人（签字/盖章）：{principal}", size, serif=serif,
            align="r")
    cv.text(S.A4_SIZE[0] - 180, y + 80, f"{cn_date(signed)}", size, serif=serif, align="r")
    return cv, {"agent_name": agent.name, "agent_id_number": agent.id_number}


def poa_samr(rng: random.Random, principal: str, agent: S.Person, matter: str,
             signed: date) -> tuple[list[S.Block], dict[str, str | None]]:
    """The SAMR 指定代表或者共同委托代理人授权委托书: the agent after its long label, the
    powers as ticked boxes, no ID number."""
    until = signed + timedelta(days=90)
    blocks = [
        S.Block("title", "指定代表或者共同委托代理人授权委托书"),
        S.Block("gap", extra="20"),
        S.Block("line", f"申请人：{principal}"),
        S.Block("line", f"指定代表或者共同委托代理人：{agent.name}"),
        S.Block("line", "委托事项及权限："),
        S.Block("line", f"1.办理{principal}的{box(False)}名称预先核准 {box(True)}设立 {box(False)}变更"),
        S.Block("line", f"2.同意{box(True)}不同意{box(False)}核对登记材料中的复印件并签署核对意见；"),
        S.Block("line", f"3.同意{box(True)}不同意{box(False)}修改企业自备文件的错误；"),
        S.Block("line", f"4.同意{box(True)}不同意{box(False)}领取营业执照和有关文书。"),
        S.Block("line", f"指定或者委托的有效期限：自{cn_date(signed)}至{cn_date(until)}"),
        S.Block("gap", extra="30"),
        S.Block("line", f"签字：{agent.name}"),
        S.Block("line", f"移动电话：{agent.phone}"),
        S.Block("gap", extra="80"),
        S.Block("right", "（申请人盖章或签字）"),
        S.Block("right", cn_date(signed)),
    ]
    return blocks, {"agent_name": agent.name, "agent_id_number": None}


# --- ID card copies ----------------------------------------------------------------------------

ANNOTATIONS = ("复印件与原件一致", "此复印件仅供办理登记使用", "本复印件仅用于办理营业执照")


def annotate_copy(page: PageSpec, rng: random.Random) -> PageSpec:
    """An applicant's handwritten note under the copy, with a tick: "☑复印件与原件一致"."""
    from bench.rules.generator import PageSpec

    cv = S.Canvas(S.A4_SIZE)
    cv.image.paste(page.image)
    cv.texts = list(page.texts)
    bottom = max((t.box[3] for t in page.texts), default=1000.0)
    note = rng.choice(ANNOTATIONS)
    cv.text(300, min(bottom + 120, S.A4_SIZE[1] - 300), f"{box(True)}{note}", 40)
    return PageSpec(cv.image, list(cv.texts), page.material_type, page.side, page.rotate,
                    page.level)

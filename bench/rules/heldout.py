
"""Template families of the HELD-OUT split. The rules are never tuned on these: they were
written before the rules changes of issue 10, and their failures are only counted, never
read to change the rules (bench/rules/README.md, "Held-out split").

Other wordings and layouts than the tuning split's: a food-licence form with a people
matrix (role rows × 姓名/证件号码/电话 columns), an individual-business form with two
label/value pairs per line and no colons, a form whose sections are introduced by ticked
roles, powers of attorney in other phrasings ("现委托……作为我单位的合法代理人", "本人……
特委托……代为办理"), one printed as a grid of labels above values, and ID card copies with
a different kind of note.
"""

from __future__ import annotations

import random
from datetime import date, timedelta
from typing import TYPE_CHECKING

from bench.rules.layout import Cell, box, grid
from bench.rules.samples_api import cn_date
from bench.rules.samples_api import samples as S

if TYPE_CHECKING:
    from bench.rules.generator import FormData, PageSpec


def _canvas(rng: random.Random) -> tuple[S.Canvas, bool, int]:
    return S.Canvas(S.A4_SIZE), rng.random() < 0.5, rng.choice((32, 35, 38))


def matrix_form(rng: random.Random, f: FormData, title: str, item_name: str,
                date_text: str) -> list[PageSpec]:
    """Applicant rows, then the people as a matrix: a header row of labels and one row per
    role below it."""
    from bench.rules.generator import PageSpec

    cv, serif, size = _canvas(rng)
    cv.text(S.A4_SIZE[0] / 2, 180, title, 60, bold=True, serif=serif, align="m")
    y = 300.0
    rows: list[list[Cell]] = [[Cell("申请人基本情况", span=4, bold=True)]]
    if f.business_name:
        rows.append([Cell("个体工商户名称", bold=True), Cell(f.business_name, span=3)])
        rows.append([Cell("经营者", bold=True), Cell(f.applicant_name),
                     Cell("公民身份号码", bold=True), Cell(f.applicant_id or "")])
    else:
        rows.append([Cell("申请人名称", bold=True), Cell(f.applicant_name, span=3)])
        if f.applicant_id:
            rows.append([Cell("社会信用代码", bold=True), Cell(f.applicant_id, span=3)])
    rows.append([Cell("经营场所", bold=True), Cell(f.address, span=3)])
    rows.append([Cell("办理事项", bold=True), Cell(item_name, span=3)])
    people: list[tuple[str, str, str]] = []
    if f.legal_rep:
        people.append((rng.choice(("法定代表人", "负责人")), f.legal_rep[0], f.legal_rep[1]))
    if f.agent:
        people.append((rng.choice(("委托代理人", "经办人")), f.agent[0], f.agent[1]))
    if people:
        rows.append([Cell("人员类别", bold=True), Cell("姓名", bold=True),
                     Cell("身份证件号码", bold=True), Cell("移动电话", bold=True)])
        for role, name, idn in people:
            rows.append([Cell(role, bold=True), Cell(name), Cell(idn), Cell(f.phone)])
    y = grid(cv, 140, y, [300, 330, 560, 340], rows, size=size, serif=serif) + 50
    cv.text(180, y, f"填表日期：{date_text}", size, serif=serif)
    return [PageSpec(cv.image, list(cv.texts), "application_form")]


def paired_lines_form(rng: random.Random, f: FormData, title: str, item_name: str,
                      date_text: str) -> list[PageSpec]:
    """Two label/value pairs per printed line, separated by spaces, no colons."""
    from bench.rules.generator import PageSpec

    cv, serif, size = _canvas(rng)
    cv.text(S.A4_SIZE[0] / 2, 200, title, 62, bold=True, serif=serif, align="m")
    y = 340.0
    x = 150
    pairs: list[tuple[tuple[str, str], tuple[str, str] | None]] = [(("事项名称", item_name), None)]
    if f.business_name:
        pairs.append((("字号名称", f.business_name), None))
        pairs.append((("经营者姓名", f.applicant_name), ("身份证件号码", f.applicant_id or "")))
    else:
        pairs.append((("名称", f.applicant_name), None))
        if f.applicant_id:
            pairs.append((("统一社会信用代码", f.applicant_id), None))
    if f.legal_rep:
        pairs.append((("法定代表人", f.legal_rep[0]), ("证件号码", f.legal_rep[1])))
    if f.agent:
        pairs.append((("代理人姓名", f.agent[0]), ("代理人证件号码", f.agent[1])))
    pairs.append((("联系方式", f.phone), ("日期", date_text)))
    pairs.append((("通讯地址", f.address), None))
    for left, right in pairs:
        cv.text(x, y, left[0], size, bold=True, serif=serif)
        lx = x + S.text_width(left[0], size, bold=True, serif=serif) + 36
        cv.text(lx, y, left[1], size, serif=serif)
        if right:
            rx = 900
            cv.text(rx, y, right[0], size, bold=True, serif=serif)
            cv.text(rx + S.text_width(right[0], size, bold=True, serif=serif) + 36, y, right[1],
                    size, serif=serif)
        y += size + 44
    y += 100
    cv.text(S.A4_SIZE[0] - 200, y, "申请人签名：", size, serif=serif, align="r")
    return [PageSpec(cv.image, list(cv.texts), "application_form")]


def ticked_roles_form(rng: random.Random, f: FormData, title: str, item_name: str,
                      date_text: str) -> list[PageSpec]:
    """Sections introduced by ticked roles ("☑委托代理人 □指定代表"), fields below them."""
    from bench.rules.generator import PageSpec

    cv, serif, size = _canvas(rng)
    cv.text(S.A4_SIZE[0] / 2, 190, title, 60, bold=True, serif=serif, align="m")
    y = 320.0
    x = 170
    out: list[tuple[str, int, bool]] = [(f"办理事项：{item_name}", 0, False)]
    if f.business_name:
        out += [(f"个体工商户名称：{f.business_name}", 0, False),
                (f"经营者：{f.applicant_name}", 0, False),
                (f"身份证号：{f.applicant_id}", 0, False)]
    else:
        out.append((f"申请单位：{f.applicant_name}", 0, False))
        if f.applicant_id:
            out.append((f"信用代码：{f.applicant_id}", 0, False))
    if f.legal_rep:
        out += [(f"{box(True)}法定代表人 {box(False)}负责人", 0, True),
                (f"姓名：{f.legal_rep[0]}", 40, False),
                (f"身份证号：{f.legal_rep[1]}", 40, False)]
    if f.agent:
        out += [(f"{box(True)}委托代理人 {box(False)}指定代表", 0, True),
                (f"姓名：{f.agent[0]}", 40, False),
                (f"身份证号：{f.agent[1]}", 40, False)]
    out += [(f"电话：{f.phone}", 0, False), (f"地址：{f.address}", 0, False),
            (f"日期：{date_text}", 0, False)]
    for text, indent, bold in out:
        for k, part in enumerate(S.wrap_text(text, size, S.A4_SIZE[0] - 2 * x - indent,
                                             serif=serif)):
            cv.text(x + (indent if k == 0 else 0), y, part, size, bold=bold, serif=serif)
            y += size + 28
    return [PageSpec(cv.image, list(cv.texts), "application_form")]


FORM_FAMILIES = {"matrix": matrix_form, "paired_lines": paired_lines_form,
                 "ticked_roles": ticked_roles_form}


def poa_prose(rng: random.Random, principal: str, agent: S.Person, matter: str,
              signed: date) -> tuple[list[S.Block], dict[str, str | None]]:
    idn = agent.id_number
    body = rng.choice((
        f"现委托{agent.name}（证件号码：{idn}）作为我单位的合法代理人，{matter}。",
        f"我单位特委托{agent.name}同志（身份证{idn}）前往贵局，{matter}。",
        f"本单位{principal}因工作原因不能亲自办理，特委托{agent.name}（公民身份号码：{idn}）{matter}。",
    ))
    blocks = [
        S.Block("title", rng.choice(("授权委托书", "法人授权委托书"))),
        S.Block("gap", extra="30"),
        S.Block("para", body),
        S.Block("para", "被委托人在上述权限内所签署的一切文件和处理的有关事务，我单位均予承认。"),
        S.Block("para", f"有效期：{cn_date(signed)}至{cn_date(signed + timedelta(days=30))}。"),
        S.Block("gap", extra="120"),
        S.Block("right", f"委托单位（公章）：{principal}"),
        S.Block("right", f"{cn_date(signed)}"),
    ]
    return blocks, {"agent_name": agent.name, "agent_id_number": idn}


def poa_grid_above(rng: random.Random, principal: str, agent: S.Person, matter: str,
                   signed: date) -> tuple[S.Canvas, dict[str, str | None]]:
    cv, serif, size = _canvas(rng)
    cv.text(S.A4_SIZE[0] / 2, 200, "委托书", 64, bold=True, serif=serif, align="m")
    rows = [
        [Cell(principal, span=2, above="委托单位")],
        [Cell(agent.name, above="被委托人"), Cell(agent.id_number, above="被委托人证件号码")],
        [Cell(matter, span=2, above="代理事项")],
    ]
    y = grid(cv, 150, 340, [700, 820], rows, size=size, serif=serif) + 120
    cv.text(S.A4_SIZE[0] - 180, y, "委托单位盖章", size, serif=serif, align="r")
    cv.text(S.A4_SIZE[0] - 180, y + 80, cn_date(signed), size, serif=serif, align="r")
    return cv, {"agent_name": agent.name, "agent_id_number": agent.id_number}


NOTES = ("仅供本次申请使用", "与原件核对无误", "再复印无效")


def annotate_copy(page: PageSpec, rng: random.Random) -> PageSpec:
    from bench.rules.generator import PageSpec

    cv = S.Canvas(S.A4_SIZE)
    cv.image.paste(page.image)
    cv.texts = list(page.texts)
    top = min((t.box[1] for t in page.texts), default=300.0)
    cv.text(260, max(top - 110, 80), f"√ {rng.choice(NOTES)}", 38)
    return PageSpec(cv.image, list(cv.texts), page.material_type, page.side, page.rotate,
                    page.level)

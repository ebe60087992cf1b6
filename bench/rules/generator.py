# ruff: noqa: E501  (data tables of Chinese text read better unwrapped)
"""A packet generator for the rules benchmark, separate from `samples` on purpose.

`samples` draws the packets the demo and the tests use; the rules were tuned on
them. This generator draws packets the rules have not been tuned on: its own people
(compound surnames, three-character names, regions of its own), its own company names,
and its own renderers for the materials whose wording varies most between service
centres — application forms (ruled table, "label：value" lines, label and value in
separate boxes, sections with 姓名/身份证号码 under a heading; label synonyms; field order;
agent rows omitted, blank or 无), business licences (spaced labels as printed: 名　　称),
property certificates, leases (one to three pages, several term phrasings and date
forms), powers of attorney (labelled or one sentence), commitment letters (labelled,
sentence-only or named in the title). ID cards, articles, food-safety rules and layouts
reuse the sample renderers. Fonts alternate between Noto Sans and Serif CJK, regular and
bold.

Each packet is one case of one of the three reference items with randomly drawn slot
outcomes (present, reused from the certificate store, committed, not required, missing,
invalid: expired card, missing card side, someone else's card, bad check digit on the
form or the licence, ended lease or licence term, a power of attorney naming another
agent), blank pages, shuffled documents or fully shuffled pages, rotated pages and
scanner degradations, with ground truth for every page, document field and slot.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import date, timedelta

from PIL import Image
from stdnum.cn import ric

from bench.rules import heldout, templates
from bench.rules.samples_api import cn_date, flow_document, table
from bench.rules.samples_api import samples as S
from rules.types import ReusableCertificate

# --- people and companies ----------------------------------------------------------------

_SURNAMES = (
    *("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蒋蔡余杜叶程苏魏"
      "吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛段雷侯龙史陶黎贺顾毛郝龚邵万覃"
      "武戴严莫孔向常汤康易乔赖文施洪辛庞"),
    "欧阳", "司马", "诸葛", "上官", "东方",
)
_GIVEN_1 = tuple("伟强磊军勇杰涛明超刚平辉鹏华飞鑫波斌宇浩凯健俊帆旭宁龙林峰芳娜敏静丽艳娟霞"
                 "燕玲婷雪慧颖琳倩洁佳欣悦梅莉萍红晶楠琪瑶蕾璐晗彤")
_GIVEN_2 = ("建国", "志强", "海涛", "晨阳", "子轩", "浩然", "宇航", "文博", "国栋", "永明",
            "立新", "振华", "家豪", "俊杰", "思远", "桂英", "秀英", "雨桐", "欣怡", "梓涵",
            "诗琪", "晓燕", "丽娟", "海燕", "雅琴", "佳怡", "思雨", "文静", "淑华", "美玲",
            "一鸣", "若曦", "嘉懿", "沐阳", "景行", "书瑶", "亦凡", "明轩", "子墨", "语嫣")

# Regions the sample generator never uses (plus its own, for variety).
_REGIONS = (
    *S.REGIONS,
    S.Region("350102", "福建省", "福州市", "鼓楼区", "福州", "闽", ("五四路", "杨桥路", "湖东路")),
    S.Region("320102", "江苏省", "南京市", "玄武区", "南京", "苏", ("中山路", "北京东路", "珠江路")),
    S.Region("370102", "山东省", "济南市", "历下区", "济南", "鲁", ("泉城路", "经十路", "解放路")),
    S.Region("610113", "陕西省", "西安市", "雁塔区", "西安", "陕", ("小寨东路", "长安南路", "科技路")),
    S.Region("410105", "河南省", "郑州市", "金水区", "郑州", "豫", ("花园路", "农业路", "经三路")),
    S.Region("500103", "", "重庆市", "渝中区", "重庆", "渝", ("解放碑", "中山三路", "民族路")),
    S.Region("430102", "湖南省", "长沙市", "芙蓉区", "长沙", "湘", ("五一大道", "解放西路", "韶山北路")),
    S.Region("210102", "辽宁省", "沈阳市", "和平区", "沈阳", "辽", ("南京北街", "中华路", "太原街")),
)
_ETHNIC = ("汉",) * 12 + ("回", "满", "壮", "蒙古", "土家", "苗", "朝鲜", "彝", "维吾尔", "藏")


# Names of Uyghur and other minority citizens are printed with a middle dot.
_DOTTED = ("阿卜杜拉", "买买提", "艾力", "古丽", "热合曼", "阿依", "努尔", "帕提古丽", "吐尔逊",
           "艾尔肯", "迪丽", "麦合", "依明", "阿布都", "热依拉")


def _name(rng: random.Random) -> str:
    if rng.random() < 0.05:
        return rng.choice(_DOTTED) + "·" + rng.choice(_DOTTED)
    r = rng.random()
    given = rng.choice(_GIVEN_2) if r < 0.55 else rng.choice(_GIVEN_1)
    return rng.choice(_SURNAMES) + given


def _address(rng: random.Random, region: S.Region) -> str:
    street = rng.choice(region.streets)
    n = rng.randrange(1, 400)
    form = rng.randrange(4)
    if form == 0:
        return f"{region.prefix}{street}{n}号"
    if form == 1:
        return f"{region.prefix}{street}{n}号{rng.randrange(1, 30)}层{rng.randrange(1, 40):02d}室"
    if form == 2:
        return (f"{region.prefix}{street}{n}号院{rng.randrange(1, 20)}号楼"
                f"{rng.randrange(1, 6)}单元{rng.randrange(1, 25)}{rng.randrange(1, 5):02d}室")
    return f"{region.prefix}{street}{n}号{rng.choice('ABCDE')}座{rng.randrange(1, 30)}{rng.randrange(1, 30):02d}"


def make_person(rng: random.Random, on: date, *, expired: bool = False,
                region: S.Region | None = None) -> S.Person:
    """A resident whose card is valid on `on`, or expired a month to two years before."""
    for _ in range(500):
        sex = rng.choice("男女")
        reg = region or rng.choice(_REGIONS)
        birth = on - timedelta(days=rng.randrange(20 * 365, 65 * 365))
        number = S.resident_id(rng, reg.code, birth, sex)
        if not ric.is_valid(number):
            continue
        if expired:
            # Ended 20 days to 2 years ago, after the 10 or 20 years its holder's age gave.
            until_day = on - timedelta(days=rng.randrange(20, 730))
            years = rng.choice((10, 20))
            issued = S.add_years(until_day, -years)
        else:
            issued = on - timedelta(days=rng.randrange(400, 19 * 365))
        age = (issued - birth).days // 365
        years = None if age > 45 else 20 if age > 25 else 10 if age >= 16 else None
        if age < 16:
            continue
        until = None if years is None else S.add_years(issued, years)
        if expired:
            if until is None or not (on - timedelta(days=730) <= until <= on - timedelta(days=20)):
                continue
        elif until is not None and until <= on + timedelta(days=30):
            continue
        phone = "1" + rng.choice("3456789") + "".join(rng.choice("0123456789") for _ in range(9))
        return S.Person(_name(rng), sex, rng.choice(_ETHNIC), birth, _address(rng, reg), number,
                        reg.police, issued, until, phone, reg)
    raise RuntimeError("could not draw a person")


_TRADE = ("瑞丰", "华信", "启明", "鼎盛", "恒通", "嘉禾", "博远", "星辰", "锦程", "安泰", "宏达",
          "明德", "优品", "青禾", "和悦", "新航", "远景", "润泽", "天成", "聚源", "云帆", "致远",
          "卓越", "汇智", "山海", "朗星", "金穗", "绿源", "百味", "鲜丰")
_INDUSTRY = {
    "科技": "技术开发、技术咨询、技术服务；软件开发；信息系统集成服务。",
    "商贸": "日用百货销售；办公用品销售；服装服饰零售；货物进出口。",
    "餐饮管理": "餐饮服务；食品销售；餐饮管理；外卖递送服务。",
    "食品": "食品销售；食品互联网销售；农副产品销售。",
    "文化传播": "组织文化艺术交流活动；广告设计、代理；会议及展览服务。",
}


def make_company(rng: random.Random, rep: S.Person, on: date, *, food: bool = False,
                 term_ended: bool = False) -> S.Company:
    region = rep.region
    industry = rng.choice(("餐饮管理", "食品")) if food else rng.choice(tuple(_INDUSTRY))
    trade = rng.choice(_TRADE)
    form = rng.randrange(3)
    if form == 0:
        name = f"{region.city_short}{trade}{industry}有限公司"
    elif form == 1:
        name = f"{trade}({region.city_short}){industry}有限公司"
    else:
        name = f"{region.city}{trade}{industry}有限责任公司"
    est = on - timedelta(days=rng.randrange(200, 12 * 365))
    if term_ended:
        est = on - timedelta(days=rng.randrange(11 * 365, 20 * 365))
        term: date | None = on - timedelta(days=rng.randrange(20, 600))
    else:
        term = None if rng.random() < 0.55 else S.add_years(est, rng.choice((10, 20, 30)))
        if term is not None and term <= on + timedelta(days=30):
            term = S.add_years(on, rng.choice((5, 10)))
    return S.Company(name, S.credit_code(rng, region.code), rng.choice(
        ("有限责任公司(自然人投资或控股)", "有限责任公司(自然人独资)", "其他有限责任公司")),
        rep, f"{rng.choice((10, 30, 50, 100, 200, 500, 1000))}万元", est, term,
        _address(rng, region), region.market_authority, _INDUSTRY[industry])


def shop_name(rng: random.Random, person: S.Person) -> str:
    kind = rng.choice(("小吃店", "面馆", "便利店", "水果店", "早餐店", "包子铺", "烘焙坊", "茶饮店"))
    return f"{person.region.district}{rng.choice(_TRADE)}{kind}"


# --- date and text forms -------------------------------------------------------------------

_CN_NUM = "〇一二三四五六七八九"


def _cn_upper(n: int) -> str:
    if n < 10:
        return _CN_NUM[n] if n else "〇"
    tens, units = divmod(n, 10)
    return ("" if tens == 1 else _CN_NUM[tens]) + "十" + (_CN_NUM[units] if units else "")


def fmt_date(d: date, rng: random.Random, *, allow_upper: bool = False) -> str:
    forms = ["cn", "cn_pad", "dot", "dash", "slash"]
    if allow_upper:
        forms.append("upper")
    f = rng.choice(forms)
    if f == "cn":
        return f"{d.year}年{d.month}月{d.day}日"
    if f == "cn_pad":
        return f"{d.year}年{d.month:02d}月{d.day:02d}日"
    if f == "dot":
        return f"{d:%Y.%m.%d}"
    if f == "dash":
        return f"{d:%Y-%m-%d}"
    if f == "slash":
        return f"{d.year}/{d.month}/{d.day}"
    return "".join(_CN_NUM[int(c)] for c in str(d.year)) + f"年{_cn_upper(d.month)}月{_cn_upper(d.day)}日"


def _half(text: str) -> str:
    return text.replace("（", "(").replace("）", ")")


# --- pages -----------------------------------------------------------------------------------


@dataclass
class PageSpec:
    """One page of a packet: its clean image, the text drawn (OCR-free ground truth), its
    true material type ("blank" for an empty sheet) and side."""

    image: Image.Image
    texts: list[S.TextOp]
    material_type: str
    side: str | None = None
    rotate: int = 0
    level: S.Level = "light"


@dataclass
class DocSpec:
    material_type: str
    pages: list[PageSpec]
    fields: dict[str, str | None] = field(default_factory=dict)
    tag: str = ""  # what role it plays ("legal_rep_id", "agent_poa", ...)


def _doc(sd: S.SampleDocument, tag: str = "", fields: dict[str, str | None] | None = None
         ) -> DocSpec:
    pages = [PageSpec(p.image, list(p.texts), sd.material_type, p.side) for p in sd.pages]
    return DocSpec(sd.material_type, pages, dict(sd.fields if fields is None else fields), tag)


class _Writer:
    """Draws lines top to bottom on one A4 page in a chosen font."""

    def __init__(self, rng: random.Random) -> None:
        self.cv = S.Canvas(S.A4_SIZE)
        self.serif = rng.random() < 0.5
        self.size = rng.choice((36, 38, 40, 42))
        self.y = 200.0 + rng.randrange(0, 60)
        self.x = 160 + rng.randrange(0, 60)

    def title(self, text: str, size: int = 70) -> None:
        self.cv.text(S.A4_SIZE[0] / 2, self.y, text, size, bold=True, serif=self.serif, align="m")
        self.y += size + 80

    def line(self, text: str, *, bold: bool = False, indent: int = 0, gap: int = 24) -> None:
        width = S.A4_SIZE[0] - 2 * self.x - indent
        for k, ln in enumerate(S.wrap_text(text, self.size, width, serif=self.serif)):
            self.cv.text(self.x + (indent if k == 0 else 0), self.y, ln, self.size, bold=bold,
                         serif=self.serif)
            self.y += self.size + gap
        self.y += 6

    def pair(self, label: str, value: str, label_w: int) -> None:
        """Label and value in separate boxes on one row (a form without rules)."""
        label_w = max(label_w, int(S.text_width(label, self.size, bold=True,
                                                 serif=self.serif)) + 40)
        self.cv.text(self.x, self.y, label, self.size, bold=True, serif=self.serif)
        width = S.A4_SIZE[0] - self.x - label_w - 140
        lines = S.wrap_text(value, self.size, width, serif=self.serif) if value else []
        for k, ln in enumerate(lines or [""]):
            if ln:
                self.cv.text(self.x + label_w, self.y + k * (self.size + 20), ln, self.size,
                             serif=self.serif)
        self.y += max(1, len(lines)) * (self.size + 20) + 22

    def right(self, text: str) -> None:
        self.cv.text(S.A4_SIZE[0] - self.x, self.y, text, self.size, serif=self.serif, align="r")
        self.y += self.size + 30

    def gap(self, h: float) -> None:
        self.y += h

    def page(self, material_type: str) -> PageSpec:
        return PageSpec(self.cv.image, list(self.cv.texts), material_type)


# --- application form ----------------------------------------------------------------------

FORM_TITLES = {
    "company-establishment": ("公司登记（备案）申请书", "公司设立登记申请书",
                              "有限责任公司设立登记申请书", "企业设立登记申请表"),
    "food-business-license": ("食品经营许可申请书", "食品经营许可证申请书", "食品经营许可申请表"),
    "individual-business-registration": ("个体工商户登记（备案）申请书", "个体工商户设立登记申请书",
                                         "个体工商户开业登记申请表"),
}
ITEM_NAMES = {
    "company-establishment": ("有限责任公司设立登记", "公司设立登记"),
    "food-business-license": ("食品经营许可证核发", "食品经营许可"),
    "individual-business-registration": ("个体工商户设立登记", "个体工商户开业登记"),
}
_LABELS: dict[str, tuple[str, ...]] = {
    "item_name": ("申请事项", "办理事项", "事项名称"),
    "company_name": ("申请人（名称）", "拟设立公司名称", "企业名称", "公司名称", "名称"),
    "food_name": ("申请人名称", "申请人（名称）", "企业名称", "经营者名称"),
    "credit_code": ("统一社会信用代码", "社会信用代码", "统一社会信用代码（身份证号码）"),
    "legal_rep_name": ("法定代表人", "法定代表人姓名", "法定代表人（负责人）"),
    "legal_rep_id": ("法定代表人身份证号码", "法定代表人证件号码", "法定代表人身份证件号码"),
    "agent_name": ("委托代理人", "委托代理人姓名", "代理人姓名", "经办人"),
    "agent_id": ("代理人身份证号码", "委托代理人身份证号码", "经办人身份证号码", "代理人证件号码"),
    "phone": ("联系电话", "手机号码", "联系方式", "移动电话"),
    "address": ("住所", "经营场所", "地址", "住所（经营场所）"),
    "date": ("申请日期", "填表日期", "日期"),
    "business_name": ("个体工商户名称", "字号名称", "名称"),
    "operator_name": ("经营者姓名", "申请人（经营者）", "经营者", "申请人姓名"),
    "operator_id": ("身份证号码", "经营者身份证号码", "公民身份号码", "身份证件号码"),
}
_GENERIC_ID = ("身份证号码", "证件号码", "身份证件号码")


@dataclass
class FormData:
    item_code: str
    applicant_name: str
    applicant_id: str | None
    legal_rep: tuple[str, str] | None  # (name, id)
    agent: tuple[str, str] | None
    phone: str
    address: str
    signed: date
    business_name: str = ""


SPLITS = ("tune", "heldout", "fresh", "blind")
_FORM_STYLES = {
    "tune": ("table", "colon", "boxes", "sections", *templates.FORM_FAMILIES),
    "heldout": tuple(heldout.FORM_FAMILIES),
}


def _form_fields(f: FormData) -> dict[str, str | None]:
    fields: dict[str, str | None] = {
        "applicant_name": f.applicant_name,
        "applicant_id": f.applicant_id,
        "legal_rep_name": f.legal_rep[0] if f.legal_rep else None,
        "legal_rep_id_number": f.legal_rep[1] if f.legal_rep else None,
        "agent_name": f.agent[0] if f.agent else None,
        "agent_id_number": f.agent[1] if f.agent else None,
        "phone": f.phone,
        "address": f.address,
        "date": f.signed.isoformat(),
    }
    if f.business_name:
        fields["business_name"] = f.business_name
    return fields


def application_form(rng: random.Random, f: FormData, split: str = "tune") -> DocSpec:
    item = f.item_code
    style = rng.choice(_FORM_STYLES[split])
    title = rng.choice(FORM_TITLES[item])
    item_name = rng.choice(ITEM_NAMES[item])
    date_text = fmt_date(f.signed, rng)
    family = templates.FORM_FAMILIES.get(style) or heldout.FORM_FAMILIES.get(style)
    if family is not None:
        fields = _form_fields(f)
        pages = family(rng, f, title, item_name, date_text)
        if style == "samr":
            fields["date"] = None  # printed without a label under the signature
        return DocSpec("application_form", pages, fields, "form")
    agent_blank = rng.choice(("omit", "blank", "无", "/"))
    rows: list[tuple[str, str]] = [(rng.choice(_LABELS["item_name"]), item_name)]
    head: list[tuple[str, str]] = []
    people: list[tuple[str, str]] = []
    if item == "individual-business-registration":
        head.append((rng.choice(_LABELS["business_name"][:2]), f.business_name))
        head.append((rng.choice(_LABELS["operator_name"]), f.applicant_name))
        head.append((rng.choice(_LABELS["operator_id"]), f.applicant_id or ""))
    else:
        key = "company_name" if item == "company-establishment" else "food_name"
        head.append((rng.choice(_LABELS[key]), f.applicant_name))
        if f.applicant_id:
            head.append((rng.choice(_LABELS["credit_code"]), f.applicant_id))
        assert f.legal_rep is not None
        rep_label = rng.choice(_LABELS["legal_rep_name"])
        id_label = (rng.choice(_GENERIC_ID) if rng.random() < 0.4
                    else rng.choice(_LABELS["legal_rep_id"]))
        people += [(rep_label, f.legal_rep[0]), (id_label, f.legal_rep[1])]
    if f.agent:
        people += [(rng.choice(_LABELS["agent_name"]),
                    f.agent[0]), (rng.choice(_LABELS["agent_id"]), f.agent[1])]
    elif agent_blank != "omit":
        v = "" if agent_blank == "blank" else agent_blank
        people += [(rng.choice(_LABELS["agent_name"][:3]), v), (_LABELS["agent_id"][0], v)]
    tail = [(rng.choice(_LABELS["phone"]), f.phone),
            (rng.choice(_LABELS["address"]), f.address)]
    rng.shuffle(tail)
    extra = []
    if item == "food-business-license":
        extra.append(("经营项目", rng.choice(("热食类食品制售；预包装食品销售", "预包装食品销售",
                                              "冷食类食品制售；自制饮品制售"))))
        extra.append(("主体业态", rng.choice(("餐饮服务经营者", "食品销售经营者"))))
    elif item == "individual-business-registration":
        extra.append(("经营范围", rng.choice(("小吃服务；预包装食品销售", "日用百货零售", "水果零售"))))
    elif rng.random() < 0.5:
        extra.append(("注册资本", f"{rng.choice((10, 50, 100, 300))}万元"))
    if rng.random() < 0.5:
        rows += head + people + tail + extra
    else:
        rows += head + tail + people + extra
    rows.append((rng.choice(_LABELS["date"][:2]), date_text))

    w = _Writer(rng)
    w.title(title, rng.choice((60, 66, 72)))
    if rng.random() < 0.4:
        w.line(f"编号：{rng.randrange(10**7, 10**8)}", gap=30)
    if style == "table":
        # The label column is as wide as the printed form makes it; long labels wrap.
        widest = max(S.text_width(label, w.size, bold=True) for label, _ in rows)
        label_w = max(rng.choice((460, 520, 580)), int(widest) + 70)
        w.y = table(w.cv, 150, int(w.y), 1504, label_w, rows, size=w.size) + 60
    elif style == "colon":
        sep = rng.choice(("：", "：", ":", " "))
        for label, value in rows:
            w.line(f"{label}{sep}{value}" if value or sep != " " else label)
    elif style == "boxes":
        for label, value in rows:
            w.pair(label, value, rng.choice((440, 500)))
    else:  # sections: 申请人信息 / 法定代表人信息 / 委托代理人信息 with 姓名 and 身份证号码
        for label, value in rows[:1] + head:
            w.line(f"{label}：{value}")
        if f.legal_rep:
            w.line("法定代表人信息", bold=True)
            w.line(f"姓名：{f.legal_rep[0]}", indent=40)
            w.line(f"身份证号码：{f.legal_rep[1]}", indent=40)
        if f.agent:
            w.line("委托代理人信息", bold=True)
            w.line(f"姓名：{f.agent[0]}", indent=40)
            w.line(f"身份证号码：{f.agent[1]}", indent=40)
        for label, value in tail + extra + rows[-1:]:
            w.line(f"{label}：{value}")
    w.gap(30)
    w.line("本申请人承诺所提交的申请材料真实、合法、有效，复印件与原件一致，并对其真实性负责。",
           indent=2 * w.size)
    w.gap(60)
    w.right(rng.choice(("申请人（签字/盖章）：", "申请人签字：", "申请人（签章）：")) + f.applicant_name)
    return DocSpec("application_form", [w.page("application_form")], _form_fields(f), "form")


# --- ID card ---------------------------------------------------------------------------------


def id_card(rng: random.Random, person: S.Person, tag: str, *, sides: str = "auto",
            split: str = "tune") -> DocSpec:
    """Both sides on one page, on two pages, or (sides="front") the front only; some
    copies carry the applicant's note (the split's own kind)."""
    layout = "one_page" if sides == "auto" and rng.random() < 0.5 else "two_pages"
    sd = S.id_card(person, rng, layout=layout)  # type: ignore[arg-type]
    doc = _doc(sd, tag)
    if rng.random() < 0.3:
        annotate = templates.annotate_copy if split == "tune" else heldout.annotate_copy
        doc.pages = [annotate(p, rng) if p.side in ("front", "both") else p for p in doc.pages]
    if sides == "front":
        doc.pages = [p for p in doc.pages if p.side == "front"]
        for k in ("issuing_authority", "valid_from", "valid_until"):
            doc.fields.pop(k, None)
    elif layout == "two_pages" and rng.random() < 0.3:
        doc.pages.reverse()  # the back photocopied first
    return doc


# --- business licence --------------------------------------------------------------------------


def business_license(rng: random.Random, c: S.Company) -> DocSpec:
    if rng.random() < 0.5:
        return _doc(S.business_license(c, rng), "licence")
    w = _Writer(rng)
    w.cv.draw.rectangle((70, 70, S.A4_SIZE[0] - 70, S.A4_SIZE[1] - 70), outline=(180, 120, 60),
                        width=12)
    w.y = 190
    w.title("营业执照", 100)
    w.cv.text(S.A4_SIZE[0] / 2, w.y - 40, "（副本）", 40, align="m")
    w.y += 40
    w.cv.text(w.x + 20, w.y, "统一社会信用代码", 36)
    w.cv.text(w.x + 20, w.y + 56, c.credit_code, 42)
    w.cv.text(S.A4_SIZE[0] - 560, w.y, f"证照编号：{rng.randrange(10**13, 10**14)}", 32)
    w.y += 180
    until = "长期" if c.term_until is None else fmt_date(c.term_until, rng)
    start = fmt_date(c.established, rng)
    term = rng.choice((f"{start}至{until}", f"{start} 至 {until}", f"{start}-{until}"))
    if c.term_until is None and rng.random() < 0.3:
        term = "长期"
    rows = [("名　　称", c.name), ("类　　型", c.kind), ("法定代表人", c.legal_rep.name),
            ("注册资本", f"人民币{c.registered_capital}" if rng.random() < 0.5
             else c.registered_capital),
            ("成立日期", fmt_date(c.established, rng)), ("营业期限", term),
            ("住　　所", c.address), ("经营范围", c.scope)]
    for label, value in rows:
        w.pair(label, value, 330)
    w.gap(80)
    w.right("登记机关")
    w.right(cn_date(c.established + timedelta(days=rng.randrange(1, 30)), pad=True))
    w.cv.seal(S.A4_SIZE[0] - 420, w.y - 120, 160, c.authority, "")
    fields: dict[str, str | None] = {
        "credit_code": c.credit_code, "name": _half(c.name), "legal_rep": c.legal_rep.name,
        "established_date": c.established.isoformat(),
        "term_end": c.term_until.isoformat() if c.term_until else None,
    }
    return DocSpec("business_license", [w.page("business_license")], fields, "licence")


# --- property certificate -------------------------------------------------------------------


def property_certificate(rng: random.Random, holder: S.Person, on: date) -> DocSpec:
    prop = S.make_property(rng, holder, on)
    if rng.random() < 0.5:
        return _doc(S.property_certificate(prop, rng), "premises")
    w = _Writer(rng)
    w.title(rng.choice(("不动产权证书", "中华人民共和国不动产权证书")), 72)
    w.line(f"{rng.choice(('证号', '证书编号'))}：{prop.number}")
    w.gap(20)
    for label, value in [("权利人", holder.name), ("共有情况", "单独所有"),
                         ("坐落", prop.location),
                         ("不动产单元号", f"{holder.region.code}00{rng.randrange(10**5, 10**6)}"
                                          f"GB{rng.randrange(10**4, 10**5)}F00010001"),
                         ("权利类型", "国有建设用地使用权/房屋所有权"), ("用途", prop.use),
                         ("面积", f"{prop.area.removesuffix('㎡')}平方米"),
                         ("使用期限", "2060年12月31日止")]:
        w.line(f"{label}：{value}")
    w.gap(100)
    w.right("不动产登记机构（章）")
    w.right(cn_date(prop.registered, pad=True))
    fields: dict[str, str | None] = {
        "certificate_number": _half(prop.number), "holder": holder.name,
        "location": prop.location, "area": prop.area.removesuffix("㎡"),
    }
    return DocSpec("property_certificate", [w.page("property_certificate")], fields, "premises")


# --- lease -------------------------------------------------------------------------------------


def lease_contract(rng: random.Random, lessee: str, region: S.Region, on: date, *,
                   ended: bool) -> DocSpec:
    lessor = make_person(rng, on, region=region)
    if ended:
        end = on - timedelta(days=rng.randrange(15, 500))
        start = S.add_years(end, -rng.choice((1, 2, 3))) + timedelta(days=1)
    else:
        start = on - timedelta(days=rng.randrange(10, 700))
        end = S.add_years(start, rng.choice((2, 3, 5))) - timedelta(days=1)
        if end <= on:
            end = on + timedelta(days=200)
    premises = _address(rng, region)
    s, e = fmt_date(start, rng), fmt_date(end, rng)
    lessor_label = rng.choice(("出租方（甲方）", "甲方（出租方）", "出租人", "出租方"))
    lessee_label = rng.choice(("承租方（乙方）", "乙方（承租方）", "承租人", "承租方"))
    addr_label = rng.choice(("房屋坐落", "租赁房屋地址", "房屋地址"))
    term = rng.choice((f"租赁期限自{s}起至{e}止。", f"租赁期限：{s}至{e}。",
                       f"租期：{s}-{e}", f"租赁期限为{rng.choice('两三五')}年，自{s}起至{e}止。"))
    title = rng.choice(("房屋租赁合同", "房屋租赁合同", "商铺租赁合同", "房屋租赁协议"))
    blocks = [
        S.Block("title", title),
        S.Block("line", f"{lessor_label}：{lessor.name}"),
        S.Block("line", f"身份证号码：{lessor.id_number}"),
        S.Block("line", f"{lessee_label}：{lessee}"),
        S.Block("gap", extra="20"),
        S.Block("para", "根据《中华人民共和国民法典》及有关法律法规的规定，甲乙双方在平等、自愿、"
                        "协商一致的基础上，就房屋租赁事宜订立本合同。"),
        S.Block("heading", "第一条 房屋基本情况"),
        S.Block("line", f"{addr_label}：{premises}"),
        S.Block("para", f"建筑面积{rng.randrange(20, 400)}平方米，用途为经营。"),
        S.Block("heading", "第二条 租赁期限"),
        S.Block("para", term),
        S.Block("heading", "第三条 租金及押金"),
        S.Block("para", f"月租金人民币{rng.randrange(20, 300) * 100}元，押金为两个月租金。"),
    ]
    n_pages = rng.choice((1, 2, 2, 3))
    if n_pages >= 2:
        blocks.append(S.Block("page"))
    blocks += [
        S.Block("heading", "第四条 双方责任"),
        S.Block("para", "乙方应合理使用房屋，不得擅自改变房屋结构和用途。甲方负责房屋主体结构的维修。"),
        S.Block("heading", "第五条 违约责任"),
        S.Block("para", "任何一方违反本合同约定的，应向守约方支付相当于一个月租金的违约金。"),
    ]
    if n_pages == 3:
        blocks.append(S.Block("page"))
    blocks += [
        S.Block("heading", "第六条 争议解决"),
        S.Block("para", "本合同履行中发生争议的，由双方协商解决；协商不成的，依法向人民法院起诉。"),
        S.Block("gap", extra="60"),
        S.Block("line", f"甲方（签字）：{lessor.name}"),
        S.Block("line", f"乙方（签章）：{lessee}"),
        S.Block("line", f"签订日期：{fmt_date(start - timedelta(days=7), rng)}"),
    ]
    fd = flow_document("lease_contract", blocks, {
        "lessor": lessor.name, "lessee": _half(lessee), "address": premises,
        "term_start": start.isoformat(), "term_end": end.isoformat(),
    }, footer=rng.random() < 0.6)
    return _doc(fd, "premises")


# --- power of attorney -------------------------------------------------------------------------


_POA_STYLES = {"tune": ("sentence", "labels", "body", "table", "samr"),
               "heldout": ("prose", "grid_above")}


def power_of_attorney(rng: random.Random, principal: str, principal_id: str | None,
                      agent: S.Person, matter: str, signed: date, split: str = "tune"
                      ) -> DocSpec:
    style = rng.choice(_POA_STYLES[split])
    truth: dict[str, str | None] = {"principal": _half(principal)}
    if style in ("table", "grid_above"):
        make_canvas = templates.poa_table if style == "table" else heldout.poa_grid_above
        cv, agent_fields = make_canvas(rng, principal, agent, matter, signed)
        page = PageSpec(cv.image, list(cv.texts), "power_of_attorney")
        return DocSpec("power_of_attorney", [page], {**truth, **agent_fields}, "poa")
    if style in ("body", "samr", "prose"):
        make_blocks = {"body": templates.poa_body, "samr": templates.poa_samr,
                       "prose": heldout.poa_prose}[style]
        body, agent_fields = make_blocks(rng, principal, agent, matter, signed)
        if style != "samr":
            truth.pop("principal")  # named only under the signature, or in prose
        fd = flow_document("power_of_attorney", body, {**truth, **agent_fields},
                              footer=False)
        return _doc(fd, "poa")
    title = rng.choice(("授权委托书", "委托书", "授权委托书"))
    blocks = [S.Block("title", title), S.Block("gap", extra="20")]
    if style == "sentence":
        blocks += [
            S.Block("line", f"委托人：{principal}"),
            S.Block("para", f"兹委托{agent.name}（身份证号码：{agent.id_number}）为我单位代理人，"
                            f"{matter}。代理人在办理上述事项过程中所签署的有关文件，我单位均予以认可。"),
        ]
    else:
        blocks.append(S.Block("line", f"{rng.choice(('委托人', '委托单位', '委托人'))}：{principal}"))
        if principal_id:
            blocks.append(S.Block("line", f"统一社会信用代码：{principal_id}"))
        blocks += [
            S.Block("gap", extra="16"),
        ]
        who = rng.choice(('受托人', '被委托人', '受托人', '代理人'))
        id_label = rng.choice(('身份证号码', '证件号码', '公民身份号码'))
        # One line: "受托人：张三  性别：男" (a stream of its own, so that adding this
        # form left every other draw of the tuning split as it was).
        if random.Random(f"poa-sex/{agent.id_number}").random() < 0.3:
            blocks.append(S.Block("line", f"{who}：{agent.name}  性别：{agent.sex}"))
        else:
            blocks.append(S.Block("line", f"{who}：{agent.name}"))
        blocks += [
            S.Block("line", f"{id_label}：{agent.id_number}"),
            S.Block("line", f"联系电话：{agent.phone}"),
            S.Block("gap", extra="30"),
            S.Block("line", f"{rng.choice(('委托事项', '委托内容'))}：{matter}"),
            S.Block("para", "受托人在办理上述事项过程中所签署的有关文件，委托人均予以认可，"
                            "并承担相应的法律责任。"),
        ]
    blocks += [
        S.Block("gap", extra="100"),
        S.Block("right", f"委托人（签字/盖章）：{principal}"),
        S.Block("right", f"{rng.choice(('日期', '委托日期'))}：{fmt_date(signed, rng)}"),
    ]
    fd = flow_document("power_of_attorney", blocks, {
        "principal": _half(principal), "agent_name": agent.name,
        "agent_id_number": agent.id_number,
    }, footer=False)
    return _doc(fd, "poa")


# --- commitment letter -------------------------------------------------------------------------

_PROMISES = {
    "premises": ("本人承诺已取得该经营场所的合法使用权", ("住所使用证明", "经营场所使用证明",
                                                        "住所（经营场所）使用证明")),
    "food_rules": ("本人承诺已建立健全食品安全管理制度并严格执行", ("食品安全管理制度",
                                                                   "食品安全规章制度")),
}


def commitment_letter(rng: random.Random, signer: S.Person, item_name: str, what: str,
                      signed: date) -> DocSpec:
    promise, names = _PROMISES[what]
    material = rng.choice(names)
    style = rng.choice(("label", "sentence", "title"))
    title = f"{material}告知承诺书" if style == "title" else rng.choice(("告知承诺书", "承诺书"))
    blocks = [S.Block("title", title), S.Block("line", f"事项名称：{item_name}")]
    if style == "label":
        blocks.append(S.Block("line", f"{rng.choice(('承诺替代材料', '替代材料'))}：{material}"))
    blocks += [
        S.Block("gap", extra="20"),
        S.Block("para", f"本人已知晓行政机关告知的全部内容。{promise}"
                        + (f"，以本承诺书代替{material}" if style != "title" else "")
                        + "，所提供的信息真实、准确、完整。"),
        S.Block("para", "如承诺内容不实或违反承诺，本人愿意承担相应的法律责任。"),
        S.Block("gap", extra="100"),
        S.Block("line", f"{rng.choice(('承诺人', '承诺人（签字）', '承诺人签字'))}：{signer.name}"),
        S.Block("line", f"{rng.choice(('身份证号码', '证件号码'))}：{signer.id_number}"),
        S.Block("line", f"日期：{fmt_date(signed, rng, allow_upper=True)}"),
    ]
    fd = flow_document("commitment_letter", blocks, {
        "signer_name": signer.name, "signer_id_number": signer.id_number,
    }, footer=False)
    return _doc(fd, "commitment")


# --- the rest (sample renderers) ---------------------------------------------------------------


def articles(rng: random.Random, c: S.Company, signed: date) -> DocSpec:
    return _doc(S.articles_of_association(c, signed), "articles",
                {"company_name": _half(c.name)})


def food_rules(rng: random.Random, c: S.Company, issued: date) -> DocSpec:
    return _doc(S.food_safety_rules(c, issued), "food_rules")


def layout(rng: random.Random, c: S.Company) -> DocSpec:
    return _doc(S.premises_layout(c, rng), "layout")


def blank_page() -> PageSpec:
    return PageSpec(Image.new("RGB", S.A4_SIZE, S.WHITE), [], "blank")


# --- packets -----------------------------------------------------------------------------------


@dataclass
class Packet:
    name: str
    item_code: str
    acceptance_date: date
    pages: list[PageSpec]  # batch order
    documents: list[tuple[DocSpec, tuple[int, ...]]]  # doc and its 1-based page numbers
    expected_states: dict[str, str]
    expected_status: str
    certificates: list[ReusableCertificate]
    notes: list[str]

    def truth_page_types(self) -> list[str]:
        return [p.material_type for p in self.pages]


def _cert_id(p: S.Person, rng: random.Random, *, valid: bool = True) -> ReusableCertificate:
    until = p.id_valid_until
    return ReusableCertificate(f"cert-{rng.randrange(10**6)}", "id_card", p.id_number, p.name,
                               p.id_number, until, "valid" if valid else "expired")


def _pick(rng: random.Random, table: Mapping[str, float]) -> str:
    r = rng.random() * sum(table.values())
    for k, w in table.items():
        r -= w
        if r <= 0:
            return k
    return next(iter(table))


_ID_OUTCOMES = {"present": 62, "expired": 7, "front_only": 5, "someone_else": 4, "missing": 7,
                "reused": 7, "reused_over_expired": 3, "form_bad_check_digit": 3, "card_typo": 2}
_PREMISES = {"property": 32, "lease": 33, "lease_ended": 9, "committed": 14, "missing": 12}


class _Build:
    def __init__(self, rng: random.Random, on: date, split: str = "tune") -> None:
        self.rng = rng
        self.on = on
        self.split = split
        self.docs: list[DocSpec] = []
        self.states: dict[str, str] = {}
        self.certs: list[ReusableCertificate] = []
        self.notes: list[str] = []

    def id_slot(self, slot: str, person: S.Person, tag: str) -> tuple[str, S.Person]:
        """Adds the ID card for `slot`; returns the outcome and the person whose ID number
        the form must carry."""
        rng, on = self.rng, self.on
        outcome = _pick(rng, _ID_OUTCOMES)
        self.notes.append(f"{slot}={outcome}")
        form_person = person
        if outcome == "present":
            self.docs.append(id_card(rng, person, tag, split=self.split))
            self.states[slot] = "present"
        elif outcome == "expired":
            old = replace(make_person(rng, on, expired=True, region=person.region),
                          name=person.name, id_number=person.id_number, sex=person.sex,
                          birth_date=person.birth_date)
            self.docs.append(id_card(rng, old, tag, split=self.split))
            self.states[slot] = "invalid"
        elif outcome == "front_only":
            self.docs.append(id_card(rng, person, tag, sides="front", split=self.split))
            self.states[slot] = "invalid"
        elif outcome == "someone_else":
            self.docs.append(id_card(rng, make_person(rng, on), tag))
            self.states[slot] = "invalid"
        elif outcome == "missing":
            self.states[slot] = "missing"
            if rng.random() < 0.3:  # an unusable certificate in the store changes nothing
                self.certs.append(_cert_id(person, rng, valid=False))
        elif outcome == "reused":
            self.certs.append(_cert_id(person, rng))
            self.states[slot] = "reused"
        elif outcome == "reused_over_expired":
            old = replace(make_person(rng, on, expired=True, region=person.region),
                          name=person.name, id_number=person.id_number)
            self.docs.append(id_card(rng, old, tag, split=self.split))
            self.certs.append(_cert_id(person, rng))
            self.states[slot] = "reused"
        elif outcome == "form_bad_check_digit":
            # The form carries a mistyped number; the card itself is fine but does not match.
            form_person = replace(person, id_number=S.corrupt_check_char(person.id_number,
                                                                         "resident_id"))
            self.docs.append(id_card(rng, person, tag, split=self.split))
            self.states[slot] = "invalid"
            self.states["application_form"] = "invalid"
        elif outcome == "card_typo":
            bad = replace(person, id_number=S.corrupt_check_char(person.id_number, "resident_id"))
            self.docs.append(id_card(rng, bad, tag, split=self.split))
            self.states[slot] = "invalid"
        return outcome, form_person

    def premises(self, slot: str, holder: S.Person, lessee: str, item_name: str) -> None:
        rng, on = self.rng, self.on
        outcome = _pick(rng, _PREMISES)
        self.notes.append(f"{slot}={outcome}")
        if outcome == "property":
            self.docs.append(property_certificate(rng, holder, on))
            self.states[slot] = "present"
        elif outcome in ("lease", "lease_ended"):
            self.docs.append(lease_contract(rng, lessee, holder.region, on,
                                            ended=outcome == "lease_ended"))
            self.states[slot] = "present" if outcome == "lease" else "invalid"
        elif outcome == "committed":
            self.docs.append(commitment_letter(rng, holder, item_name, "premises",
                                               on - timedelta(days=3)))
            self.states[slot] = "committed"
        else:
            self.states[slot] = "missing"


def _company(b: _Build) -> FormData:
    rng, on = b.rng, b.on
    rep = make_person(rng, on)
    company = make_company(rng, rep, on)
    signed = on - timedelta(days=rng.randrange(0, 20))
    b.states["application_form"] = "present"
    _, form_rep = b.id_slot("legal_rep_id_card", rep, "legal_rep_id")
    if rng.random() < 0.9:
        b.docs.append(articles(rng, company, signed))
        b.states["articles_of_association"] = "present"
    else:
        b.states["articles_of_association"] = "missing"
    b.premises("premises_proof", rep, company.name, "有限责任公司设立登记")
    agent = make_person(rng, on) if rng.random() < 0.5 else None
    if agent is None:
        b.states["power_of_attorney"] = b.states["agent_id_card"] = "not_required"
    else:
        r = rng.random()
        matter = f"代为办理{company.name}设立登记相关事宜"
        if r < 0.85:
            b.docs.append(power_of_attorney(rng, company.name, None, agent, matter, signed,
                                            b.split))
            b.states["power_of_attorney"] = "present"
        elif r < 0.93:
            b.states["power_of_attorney"] = "missing"
        else:
            b.docs.append(power_of_attorney(rng, company.name, None, make_person(rng, on),
                                            matter, signed, b.split))
            b.states["power_of_attorney"] = "invalid"
        r = rng.random()
        if r < 0.87:
            b.docs.append(id_card(rng, agent, "agent_id", split=b.split))
            b.states["agent_id_card"] = "present"
        elif r < 0.95:
            b.states["agent_id_card"] = "missing"
        else:
            old = replace(make_person(rng, on, expired=True, region=agent.region),
                          name=agent.name, id_number=agent.id_number)
            b.docs.append(id_card(rng, old, "agent_id", split=b.split))
            b.states["agent_id_card"] = "invalid"
    b.notes.append("agent" if agent else "no agent")
    return FormData("company-establishment", company.name, None,
                    (rep.name, form_rep.id_number), (agent.name, agent.id_number) if agent
                    else None, (agent or rep).phone, company.address, signed)


def _food(b: _Build) -> FormData:
    rng, on = b.rng, b.on
    rep = make_person(rng, on)
    outcome = _pick(rng, {"present": 68, "bad_check_digit": 6, "ended": 6, "missing": 7,
                          "reused": 8, "other_company": 5})
    b.notes.append(f"business_license={outcome}")
    company = make_company(rng, rep, on, food=True, term_ended=outcome == "ended")
    signed = on - timedelta(days=rng.randrange(0, 20))
    b.states["application_form"] = "present"
    if outcome in ("present", "ended"):
        b.docs.append(business_license(rng, company))
        b.states["business_license"] = "present" if outcome == "present" else "invalid"
    elif outcome == "bad_check_digit":
        bad = replace(company, credit_code=S.corrupt_check_char(company.credit_code,
                                                                "credit_code"))
        b.docs.append(business_license(rng, bad))
        b.states["business_license"] = "invalid"
    elif outcome == "other_company":
        b.docs.append(business_license(rng, make_company(rng, make_person(rng, on), on,
                                                         food=True)))
        b.states["business_license"] = "invalid"
    elif outcome == "reused":
        b.certs.append(ReusableCertificate(
            f"cert-{rng.randrange(10**6)}", "business_license", company.credit_code,
            company.name, company.credit_code, company.term_until))
        b.states["business_license"] = "reused"
    else:
        b.states["business_license"] = "missing"
    _, form_rep = b.id_slot("legal_rep_id_card", rep, "legal_rep_id")
    r = rng.random()
    if r < 0.8:
        b.docs.append(food_rules(rng, company, company.established))
        b.states["food_safety_rules"] = "present"
    elif r < 0.9:
        b.docs.append(commitment_letter(rng, rep, "食品经营许可证核发", "food_rules",
                                        on - timedelta(days=2)))
        b.states["food_safety_rules"] = "committed"
    else:
        b.states["food_safety_rules"] = "missing"
    if rng.random() < 0.9:
        b.docs.append(layout(rng, company))
        b.states["premises_layout"] = "present"
    else:
        b.states["premises_layout"] = "missing"
    return FormData("food-business-license", company.name, company.credit_code,
                    (rep.name, form_rep.id_number), None, rep.phone, company.address, signed)


def _individual(b: _Build) -> FormData:
    rng, on = b.rng, b.on
    op = make_person(rng, on)
    shop = shop_name(rng, op)
    signed = on - timedelta(days=rng.randrange(0, 20))
    b.states["application_form"] = "present"
    _, form_op = b.id_slot("operator_id_card", op, "operator_id")
    b.premises("premises_proof", op, rng.choice((op.name, shop)), "个体工商户设立登记")
    return FormData("individual-business-registration", op.name, form_op.id_number, None, None,
                    op.phone, _address(rng, op.region), signed, business_name=shop)


_BUILDERS = {
    "company-establishment": _company,
    "food-business-license": _food,
    "individual-business-registration": _individual,
}
ITEMS = tuple(_BUILDERS)


def shuffle_pages(rng: random.Random, pages: list[PageSpec], positions: list[list[int]]
                  ) -> tuple[list[PageSpec], list[list[int]]]:
    """The pages in a random order (a stack dropped and picked up again), with each
    document's page numbers (1-based) following its pages."""
    order = list(range(len(pages)))
    rng.shuffle(order)
    new_pos = {old + 1: new + 1 for new, old in enumerate(order)}
    return [pages[i] for i in order], [[new_pos[n] for n in pos] for pos in positions]


def build_packet(seed: int, index: int, *, acceptance_date: date | None = None,
                 item_code: str | None = None, split: str = "tune") -> Packet:
    """Packet number `index` of the run `seed` in `split` ("tune", "heldout", "fresh" or "blind"):
    deterministic for the triple. The held-out split draws its forms, powers of attorney
    and ID card notes from `bench.rules.heldout` only, and its random stream from another
    key, so no held-out packet equals a tuning packet even for the same seed."""
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}")
    if split == "fresh":  # a generator of its own (bench/rules/fresh.py)
        from bench.rules import fresh

        return fresh.build_packet(seed, index, acceptance_date=acceptance_date,
                                  item_code=item_code)
    if split == "blind":  # a fourth generator, nobody tunes on it (bench/rules/blind.py)
        from bench.rules import blind

        return blind.build_packet(seed, index, acceptance_date=acceptance_date,
                                  item_code=item_code)
    key = f"bench-rules/{seed}/{index}" if split == "tune" else f"bench-rules-heldout/{seed}/{index}"
    rng = random.Random(key)
    on = acceptance_date or date(2025, 1, 1) + timedelta(days=rng.randrange(0, 700))
    item = item_code or ITEMS[index % len(ITEMS)]
    b = _Build(rng, on, split)
    form = _BUILDERS[item](b)
    form_doc = application_form(rng, form, split)
    # Present-but-not-needed: sometimes a power of attorney comes along without an agent.
    docs = [form_doc, *b.docs]
    if b.states.get("application_form") != "invalid":
        b.states["application_form"] = "present"
    # Order: the form usually first, the rest as handed over; sometimes pages fully shuffled.
    rest = docs[1:]
    rng.shuffle(rest)
    docs = [form_doc, *rest] if rng.random() < 0.7 else [*rest, form_doc]
    pages: list[PageSpec] = []
    positions: list[list[int]] = []
    for d in docs:
        positions.append([])
        for p in d.pages:
            pages.append(p)
            positions[-1].append(len(pages))
        if rng.random() < 0.06:
            pages.append(blank_page())
    shuffled = rng.random() < 0.25
    if shuffled:
        pages, positions = shuffle_pages(rng, pages, positions)
        b.notes.append("pages shuffled")
    for p in pages:
        p.level = "medium" if rng.random() < 0.3 else "light"
        if rng.random() < 0.08 and p.material_type != "blank":
            p.rotate = rng.choice((90, 180, 270))
    states = b.states
    required_ok = ("present", "reused", "committed", "not_required")
    status = "complete" if all(s in required_ok for s in states.values()) else "incomplete"
    prefix = "" if split == "tune" else "H"
    return Packet(f"{prefix}{seed}-{index:04d}-{item}", item, on, pages,
                  [(d, tuple(pos)) for d, pos in zip(docs, positions, strict=True)],
                  states, status, b.certs, b.notes)



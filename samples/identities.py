"""Reproducible people (`Person`) and businesses (`Company`) drawn from a seeded
`random.Random`, with resident ID numbers carrying a correct GB 11643 check digit and unified
social credit codes carrying a correct GB 32100 check character (`resident_id`,
`credit_code`), plus deliberately broken variants (`corrupt_check_char`). Nothing here is
real personal data.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Literal

from stdnum.cn import ric, uscc

# --------------------------------------------------------------------------------------
# Identities
# --------------------------------------------------------------------------------------


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


_SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程"
    "苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛段雷侯龙史陶黎贺顾毛郝龚邵"
)
_GIVEN_MALE = _words(
    "伟 强 磊 军 勇 杰 涛 明 超 刚 平 辉 鹏 华 飞 鑫 波 斌 宇 浩 凯 健 俊 帆 旭 宁 龙 林 峰 "
    "建国 志强 海涛 晨阳 子轩 浩然 宇航 文博 国栋 永明 立新 振华 家豪 俊杰 思远"
)
_GIVEN_FEMALE = _words(
    "芳 娜 敏 静 丽 艳 娟 霞 燕 玲 婷 雪 慧 颖 琳 倩 洁 佳 欣 悦 梅 莉 萍 红 晶 "
    "桂英 秀英 雨桐 欣怡 梓涵 诗琪 晓燕 丽娟 海燕 雅琴 佳怡 思雨 文静 淑华 美玲"
)
_MINORITIES = ("回", "满", "壮", "蒙古", "土家", "苗", "朝鲜", "彝")


@dataclass(frozen=True)
class Region:
    """A county-level division: its GB/T 2260 code and the names documents print."""

    code: str
    province: str  # "" for municipalities (北京市 etc.), whose city is the province
    city: str
    district: str
    city_short: str  # used in company names: 北京瑞丰科技有限公司
    abbr: str  # property certificate prefix: 京
    streets: tuple[str, ...]

    @property
    def prefix(self) -> str:
        return f"{self.province}{self.city}{self.district}"

    @property
    def police(self) -> str:
        # 北京市公安局朝阳分局: the district name without its 区 suffix.
        return f"{self.city}公安局{self.district.removesuffix('区')}分局"

    @property
    def market_authority(self) -> str:
        return f"{self.city}{self.district}市场监督管理局"


REGIONS: tuple[Region, ...] = (
    Region(
        "110105", "", "北京市", "朝阳区", "北京", "京", ("建国路", "朝阳北路", "望京街", "酒仙桥路")
    ),
    Region(
        "110108", "", "北京市", "海淀区", "北京", "京", ("中关村大街", "学院路", "知春路", "苏州街")
    ),
    Region(
        "310104",
        "",
        "上海市",
        "徐汇区",
        "上海",
        "沪",
        ("漕溪北路", "肇嘉浜路", "天钥桥路", "虹桥路"),
    ),
    Region(
        "120101", "", "天津市", "和平区", "天津", "津", ("南京路", "滨江道", "成都道", "赤峰道")
    ),
    Region(
        "440106", "广东省", "广州市", "天河区", "广州", "粤", ("天河路", "体育西路", "中山大道")
    ),
    Region("330106", "浙江省", "杭州市", "西湖区", "杭州", "浙", ("文三路", "天目山路", "教工路")),
    Region(
        "510107", "四川省", "成都市", "武侯区", "成都", "川", ("人民南路", "科华北路", "武侯大道")
    ),
    Region("420106", "湖北省", "武汉市", "武昌区", "武汉", "鄂", ("中南路", "武珞路", "中北路")),
)


@dataclass(frozen=True)
class Person:
    """A resident as printed on a 居民身份证. `id_valid_until` None means 长期."""

    name: str
    sex: str  # 男 / 女
    ethnicity: str  # 汉, 回, ... (without the 族 suffix, as the card prints it)
    birth_date: date
    address: str
    id_number: str
    id_issuer: str  # 签发机关
    id_valid_from: date
    id_valid_until: date | None
    phone: str
    region: Region

    def id_expired_on(self, day: date) -> bool:
        return self.id_valid_until is not None and self.id_valid_until < day


@dataclass(frozen=True)
class Company:
    """A market entity as printed on a 营业执照. `term_until` None means 长期."""

    name: str
    credit_code: str
    kind: str  # 类型
    legal_rep: Person  # 法定代表人, or 经营者 for an individual business
    registered_capital: str  # "" for individual businesses
    established: date
    term_until: date | None
    address: str
    authority: str  # 登记机关
    scope: str  # 经营范围
    individual: bool = False


def add_years(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


def random_date(rng: random.Random, start: date, end: date) -> date:
    return start + timedelta(days=rng.randrange(max(1, (end - start).days)))


def resident_id(rng: random.Random, region_code: str, birth: date, sex: str) -> str:
    """An 18-digit resident ID number with a correct GB 11643 check digit.

    The order code's last digit is odd for men and even for women, as the standard says.
    """
    order = rng.randrange(0, 50) * 2 + (1 if sex == "男" else 0)  # 0..99 with parity
    body = f"{region_code}{birth:%Y%m%d}{rng.randrange(0, 10)}{order:02d}"
    return body + ric.calc_check_digit(body + "0")


_ORG_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)


def _org_code(rng: random.Random) -> str:
    """A 9-character organisation code (GB 11714) with its own check character: positions
    9-17 of a credit code carry one, and a thorough validator may check it too."""
    body = "".join(rng.choice("0123456789") for _ in range(8))
    check = 11 - sum(int(c) * w for c, w in zip(body, _ORG_WEIGHTS, strict=True)) % 11
    return body + {10: "X", 11: "0"}.get(check, str(check))


def credit_code(rng: random.Random, region_code: str, *, individual: bool = False) -> str:
    """A unified social credit code with a correct GB 32100 check character.

    "91" = registered by market regulation, enterprise; "92" = individual business.
    """
    body = ("92" if individual else "91") + region_code + _org_code(rng)
    return body + uscc.calc_check_digit(body)


_RIC_ALPHABET = "0123456789X"
_USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"


def corrupt_check_char(code: str, kind: Literal["resident_id", "credit_code"]) -> str:
    """The same number with a wrong (but well-formed) check character: every other
    character stays as it was, so only the check-character test fails."""
    alphabet = _RIC_ALPHABET if kind == "resident_id" else _USCC_ALPHABET
    last = code[-1].upper()
    index = alphabet.index(last) if last in alphabet else -1
    return code[:-1] + alphabet[(index + 1) % len(alphabet)]


def street_address(rng: random.Random, region: Region) -> str:
    street = rng.choice(region.streets)
    number = rng.randrange(1, 300)
    if rng.random() < 0.6:
        return (
            f"{region.prefix}{street}{number}号院{rng.randrange(1, 20)}号楼"
            f"{rng.randrange(1, 6)}单元{rng.randrange(1, 25)}{rng.randrange(1, 5):02d}室"
        )
    return f"{region.prefix}{street}{number}号"


def _id_validity_years(age_at_issue: int) -> int | None:
    """居民身份证法 article 5: validity by age when the card was issued; None = 长期."""
    if age_at_issue < 16:
        return 5
    if age_at_issue <= 25:
        return 10
    if age_at_issue <= 45:
        return 20
    return None


def make_person(
    rng: random.Random,
    on: date,
    *,
    expired: bool = False,
    region: Region | None = None,
    min_age: int = 22,
    max_age: int = 62,
) -> Person:
    """A random adult resident on day `on`, whose ID card is valid on `on` — or expired
    (between a month and two years before `on`) when `expired` is true."""
    sex = "男" if rng.random() < 0.55 else "女"
    given = rng.choice(_GIVEN_MALE if sex == "男" else _GIVEN_FEMALE)
    name = rng.choice(_SURNAMES) + given
    ethnicity = "汉" if rng.random() < 0.9 else rng.choice(_MINORITIES)
    for _ in range(200):
        birth = random_date(rng, add_years(on, -max_age), add_years(on, -min_age))
        reg = region or rng.choice(REGIONS)
        number = resident_id(rng, reg.code, birth, sex)
        if not ric.is_valid(number):  # region code not yet assigned in that birth year
            continue
        if expired:
            issued = random_date(rng, add_years(on, -22), add_years(on, -10))
        else:
            issued = random_date(rng, add_years(on, -18), on - timedelta(days=30))
        years = _id_validity_years((issued - birth).days // 365)
        until = None if years is None else add_years(issued, years)
        if expired:
            ok = until is not None and add_years(on, -2) <= until <= on - timedelta(days=30)
        else:
            ok = until is None or until > on + timedelta(days=60)
        if ok:
            phone = "1" + rng.choice("3589") + "".join(rng.choice("0123456789") for _ in range(9))
            return Person(
                name, sex, ethnicity, birth, street_address(rng, reg), number, reg.police,
                issued, until, phone, reg,
            )  # fmt: skip
    raise RuntimeError("could not draw a person with the requested ID validity")


_TRADE_NAMES = _words(
    "瑞丰 华信 启明 鼎盛 恒通 嘉禾 博远 星辰 锦程 安泰 宏达 明德 优品 青禾 和悦 新航 "
    "远景 润泽 天成 聚源"
)
_INDUSTRIES = {
    "tech": (
        "科技",
        "技术开发、技术咨询、技术服务、技术转让；软件开发；计算机系统服务；销售电子产品。",
    ),
    "trade": ("商贸", "销售日用品、文具用品、服装鞋帽、电子产品；货物进出口；会议服务。"),
    "media": ("文化传媒", "组织文化艺术交流活动；广告设计、代理；企业形象策划；会议及展览服务。"),
    "food": ("餐饮管理", "餐饮服务；食品销售；餐饮管理；外卖递送服务。"),
}
_SHOP_KINDS = ("小吃店", "面馆", "便利店", "水果店", "早餐店", "包子铺")


def make_company(
    rng: random.Random,
    legal_rep: Person,
    on: date,
    *,
    industry: str = "tech",
    individual: bool = False,
    bad_credit_code: bool = False,
    established: date | None = None,
) -> Company:
    """A company (or 个体工商户) registered in its legal representative's region."""
    region = legal_rep.region
    code = credit_code(rng, region.code, individual=individual)
    if bad_credit_code:
        code = corrupt_check_char(code, "credit_code")
    est = established or random_date(rng, add_years(on, -8), add_years(on, -1))
    if individual:
        name = f"{region.district}{legal_rep.name[0]}记{rng.choice(_SHOP_KINDS)}"
        return Company(
            name, code, "个体工商户", legal_rep, "", est, None, street_address(rng, region),
            region.market_authority, "餐饮服务；食品销售。", individual=True,
        )  # fmt: skip
    suffix, scope = _INDUSTRIES[industry]
    name = f"{region.city_short}{rng.choice(_TRADE_NAMES)}{suffix}有限公司"
    kind = rng.choice(("有限责任公司（自然人投资或控股）", "有限责任公司（自然人独资）"))
    capital = f"{rng.choice((10, 30, 50, 100, 200, 500))}万元"
    term = None if rng.random() < 0.6 else add_years(est, 20) - timedelta(days=1)
    return Company(
        name, code, kind, legal_rep, capital, est, term, street_address(rng, region),
        region.market_authority, scope,
    )  # fmt: skip


# --------------------------------------------------------------------------------------
# Drawing
# --------------------------------------------------------------------------------------

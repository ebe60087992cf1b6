"""Born-digital packets for certificate tests: an individual-business application form and
the operator's ID card (both sides on one page), no OCR needed."""

from __future__ import annotations

from stdnum.cn import ric

from tests.helpers import text_pdf

ITEM = "individual-business-registration"


def resident_id(serial: int, birth: str = "19851203") -> str:
    body = f"110105{birth}{serial:03d}"
    return body + ric.calc_check_digit(body + "0")


def form(name: str, id_number: str) -> list[str]:
    return ["个体工商户设立登记申请书", "申请事项：个体工商户设立登记", f"申请人：{name}",
            f"身份证号码：{id_number}", "联系电话：13800138000",
            "经营场所：北京市朝阳区建国路88号", "申请日期：2026年11月2日"]


def id_card(name: str, id_number: str, valid: str = "2010.01.01-2030.01.01") -> list[str]:
    birth = id_number[6:14]
    return [f"姓名{name}性别男", f"民族汉出生{birth[:4]}年{int(birth[4:6])}月{int(birth[6:])}日",
            "住址北京市朝阳区建国路88号", f"公民身份号码{id_number}", "中华人民共和国居民身份证",
            "签发机关北京市公安局朝阳分局", f"有效期限{valid}"]


def packet(name: str, id_number: str, *, with_id_card: bool = True) -> bytes:
    pages = [form(name, id_number)]
    if with_id_card:
        pages.append(id_card(name, id_number))
    return text_pdf(pages)

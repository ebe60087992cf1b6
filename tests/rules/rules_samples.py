"""Hand-built OCR pages of the materials, in the shapes PP-OCR gives them: labels merged
with values, no spaces, values in separate boxes, a misread O for 0 in an ID number."""

from __future__ import annotations

from rules_pagekit import Cell, Row, page

from rules.types import PageText

COMPANY = "福州星海科技有限公司"
CREDIT_CODE = "91350102MA31ABCD7T"
LEGAL_REP = ("张三", "350102198506121235")
AGENT = ("李四", "350102199003078516")
OPERATOR = ("王芳", "350102199208152345")
STRANGER = ("赵六", "110101198001011232")


def company_form(n: int, *, agent: bool = True, legal_rep: tuple[str, str] = LEGAL_REP,
                 id_conf: float = 0.97) -> PageText:
    rows: list[Row] = [
        "申请事项：有限责任公司设立登记",
        ["拟设立公司名称", COMPANY],
        "住所福州市鼓楼区五四路88号",
        f"法定代表人{legal_rep[0]}",
        ("身份证号码" + legal_rep[1], id_conf),
        "注册资本100万元",
    ]
    if agent:
        rows += [["委托代理人", AGENT[0]], "代理人身份证号码：" + AGENT[1]]
    else:
        rows += ["委托代理人：无"]
    rows += ["联系电话0591-88886666", "本公司承诺所提交材料真实有效，营业执照领取方式：窗口领取",
             "申请日期2024年3月1日"]
    return page(n, rows, title="公司登记（备案）申请书")


def food_form(n: int, *, credit_code: str = CREDIT_CODE) -> PageText:
    return page(n, [
        "申请事项食品经营许可证核发",
        f"申请人名称：{COMPANY}",
        f"统一社会信用代码：{credit_code}",
        f"法定代表人：{LEGAL_REP[0]}",
        f"身份证号码：{LEGAL_REP[1]}",
        "经营场所：福州市鼓楼区五四路88号",
        "主体业态：餐饮服务经营者",
        "联系电话：13800000000",
        "申请日期：2024-03-01",
    ], title="食品经营许可申请书")


def individual_form(n: int, *, operator: tuple[str, str] = OPERATOR) -> PageText:
    return page(n, [
        "个体工商户名称：鼓楼区芳芳小吃店",
        f"经营者姓名{operator[0]}",
        f"身份证号码{operator[1]}",
        "经营场所福州市鼓楼区杨桥路12号",
        "组成形式个人经营",
        "联系电话13900000000",
        "申请日期2024年3月1日",
    ], title="个体工商户登记（备案）申请书")


def id_front(n: int, person: tuple[str, str], *, id_text: str | None = None,
             conf: float = 0.97, id_conf: float | None = None) -> PageText:
    name, number = person
    year, month, day = number[6:10], int(number[10:12]), int(number[12:14])
    return page(n, [
        f"姓名{name}",
        "性别男民族汉",
        f"出生{year}年{month}月{day}日",
        "住址福建省福州市鼓楼区",
        ["", "五四路88号"],  # the wrapped address line sits under the value column
        ("公民身份号码" + (id_text or number), id_conf if id_conf is not None else conf),
    ], conf=conf)


def id_back(n: int, valid: str = "2015.03.01-2035.03.01", *, conf: float = 0.97) -> PageText:
    return page(n, [
        "中华人民共和国",
        "居民身份证",
        "签发机关福州市公安局鼓楼分局",
        ("有效期限" + valid, conf),
    ], conf=conf)


def id_both(n: int, person: tuple[str, str], valid: str = "2010.01.01-长期") -> PageText:
    name, number = person
    return page(n, [
        f"姓名{name}性别女",
        "民族汉出生1992年8月15日",
        "住址福建省福州市鼓楼区杨桥路12号",
        "公民身份号码" + number,
        "中华人民共和国居民身份证",
        "签发机关福州市公安局鼓楼分局",
        "有效期限" + valid,
    ])


def lease(n: int, *, term: str = "自2024年1月1日起至2026年12月31日止",
          lessee: str = COMPANY) -> list[PageText]:
    first = page(n, [
        "出租方（甲方）：陈七",
        f"承租方（乙方）：{lessee}",
        "第一条房屋坐落：福州市鼓楼区五四路88号",
        "第二条租赁期限" + term,
        "第三条租金每月人民币5000元，押金10000元",
    ], title="房屋租赁合同")
    middle = page(n + 1, [
        "第四条甲方应保证房屋符合安全使用条件",
        "第五条乙方应按时支付租金，不得擅自转租",
        "第六条违约责任",
        "第七条争议解决",
    ])
    last = page(n + 2, ["甲方（签字）：陈七", "乙方（盖章）：", "2023年12月20日"])
    return [first, middle, last]


def property_cert(n: int) -> PageText:
    return page(n, [
        "闽(2021)福州市不动产权第0012345号",
        f"权利人{COMPANY}",
        "共有情况单独所有",
        "坐落福州市鼓楼区五四路88号",
        "不动产单元号350102001001GB00001F00010001",
        "权利类型国有建设用地使用权/房屋所有权",
        "用途商业",
        "面积120.5平方米",
    ], title="不动产权证书")


def articles(n: int) -> list[PageText]:
    return [
        page(n, [
            "第一章总则",
            f"第一条公司名称：{COMPANY}",
            "第二条公司住所：福州市鼓楼区五四路88号",
            "第三条公司注册资本为人民币100万元",
        ], title=f"{COMPANY}章程"),
        page(n + 1, [
            "第二章股东会",
            "第八条股东会由全体股东组成，是公司的权力机构",
            "第九条股东以货币方式出资",
            "第十条公司不设董事会，设执行董事一人",
        ]),
    ]


def power_of_attorney(n: int, agent: tuple[str, str] = AGENT) -> PageText:
    return page(n, [
        f"委托人：{COMPANY}",
        f"受托人：{agent[0]}",
        f"身份证号码：{agent[1]}",
        "委托事项：代为办理公司设立登记",
        "委托期限：自2024年2月28日至2024年4月30日",
        "日期：2024年2月28日",
    ], title="授权委托书")


def commitment(n: int, replaces: str = "住所使用证明", *, title: str | None = None) -> PageText:
    return page(n, [
        f"承诺人：{LEGAL_REP[0]}",
        f"身份证号码：{LEGAL_REP[1]}",
        f"承诺事项：{replaces}",
        f"本人承诺以本承诺书替代提交{replaces}，如有不实，愿承担法律责任。",
        "日期：2024年3月1日",
    ], title=title or f"{replaces}告知承诺书")


def business_license(n: int, *, credit_code: str = CREDIT_CODE,
                     term: str = "2020年01月01日至长期") -> PageText:
    return page(n, [
        "统一社会信用代码" + credit_code,
        "名称" + COMPANY,
        "类型有限责任公司(自然人投资或控股)",
        "法定代表人" + LEGAL_REP[0],
        "注册资本壹佰万元整",
        "成立日期2020年01月01日",
        "营业期限" + term,
        "住所福州市鼓楼区五四路88号",
        "经营范围：软件开发；信息技术咨询服务",
        "登记机关福州市鼓楼区市场监督管理局",
    ], title=("营业执照", 0.99))


def food_rules(n: int) -> PageText:
    return page(n, [
        "一、从业人员健康管理制度",
        "从业人员每年进行健康检查，取得健康证明后方可上岗",
        "二、进货查验记录制度",
        "三、食品安全自查制度",
        "四、餐饮具清洗消毒制度",
    ], title="食品安全管理制度")


def layout(n: int) -> PageText:
    rows: list[Row] = [["粗加工区", "切配区", "烹饪区"], ["更衣室", "库房", "备餐间"],
                       "出入口", "比例尺1:100"]
    return page(n, rows, title="经营场所平面布局图")


def noise(n: int) -> PageText:
    """A page that is none of the materials (a receipt)."""
    cells: list[Cell] = ["今收到", "人民币伍佰元整", "经手人：孙八"]
    return page(n, cells, title="收款收据")

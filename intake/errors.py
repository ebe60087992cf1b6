"""The one registry of the errors docintake reports: each code declared once, with its HTTP
status and its message in Chinese (for the clerk and the applicant) and English.

Every layer raises through it: services raise `IntakeError(code, **fields)`, stored
rejections (a file, a page) keep `message(code, **fields)`, and `api.problems` renders an
`IntakeError` as an RFC 9457 problem in one place. The codes of files and pages that cannot
be read are declared by `ocr.errors` (the pure OCR package cannot import this one) and
registered here with their status, so they too exist exactly once.

Messages are `"中文。(English.)"`: Chinese first, because the clerk reads it aloud or prints
it; `{name}` fields are filled from the keyword arguments.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

from ocr.errors import MESSAGES as SOURCE_MESSAGES


@dataclass(frozen=True)
class ErrorSpec:
    code: str
    status: int
    zh: str
    en: str

    def message(self, **fields: Any) -> str:
        values = _Defaults(fields)
        return f"{self.zh.format_map(values)}({self.en.format_map(values)})"


class _Defaults(dict[str, Any]):
    """Format fields, where a field the caller did not give renders as empty."""

    def __missing__(self, key: str) -> str:
        return ""


REGISTRY: Final[dict[str, ErrorSpec]] = {}


def declare(code: str, status: int, zh: str, en: str) -> ErrorSpec:
    if code in REGISTRY:
        raise ValueError(f"error code {code} declared twice")
    spec = ErrorSpec(code, status, zh, en)
    REGISTRY[code] = spec
    return spec


def error_spec(code: str) -> ErrorSpec:
    return REGISTRY[code]


def message(code: str, **fields: Any) -> str:
    """The bilingual message of `code`, for a rejection that is stored rather than raised."""
    return REGISTRY[code].message(**fields)


class IntakeError(Exception):
    """An error with a registered code. `extra` members appear in the problem response."""

    def __init__(self, code: str, /, *, headers: dict[str, str] | None = None,
                 extra: dict[str, Any] | None = None, **fields: Any) -> None:
        spec = REGISTRY[code]
        self.code = code
        self.status = spec.status
        self.message = spec.message(**fields)
        self.headers = headers or {}
        self.extra = extra or {}
        super().__init__(f"{code}: {self.message}")


# Files and pages (declared in ocr.errors): reported in a batch or a report, not as HTTP
# errors of their own, hence 422 "the content cannot be processed".
for _code, (_zh, _en) in SOURCE_MESSAGES.items():
    declare(_code, 413 if _code == "file.too_large" else 422, _zh, _en)

# -- requests and authentication --------------------------------------------------------
declare("request.invalid", 422, "请求参数有误。", "The request is missing or has invalid fields.")
declare("request.malformed", 400, "请求格式有误，无法解析。", "The request body is malformed.")
declare("request.too_large", 413, "请求内容超过 {limit_kb} KB。",
        "The request body is larger than {limit_kb} KB.")
declare("route.not_found", 404, "请求的地址不存在。", "No such route.")
declare("method.not_allowed", 405, "不支持该请求方法。", "Method not allowed on this route.")
declare("internal.error", 500, "服务内部错误，请稍后重试。", "Internal error; please retry later.")
declare("auth.missing_key", 401, "需要 API 密钥。",
        "An API key is required: Authorization: Bearer <key>.")
declare("auth.invalid_key", 401, "API 密钥无效或已停用。", "The API key is invalid or revoked.")
declare("auth.forbidden_role", 403, "角色 {role} 无权执行此操作。",
        "Role {role} may not do this{allowed}.")

# -- catalog and cases ------------------------------------------------------------------
declare("item.unknown", 404, "事项编码 {item_code} 不在目录中。",
        "Unknown item code {item_code}.")
declare("case.not_found", 404, "案件 {case_id} 不存在。", "Case {case_id} not found.")
declare("case.not_assessed", 409, "案件 {case_id} 尚无审查结果，请稍后再试。",
        "Case {case_id} has not been assessed yet; try again shortly.")
declare("assessment.reason_invalid", 422,
        "重新审查的原因 {reason} 格式有误（小写英文单词，如 reviewer_correction）。",
        "Give the reason for reassessing as a short snake_case word such as "
        "reviewer_correction, not {reason}.")
declare("case.processing", 409, "材料仍在识别中，请稍后再{action_zh}。",
        "Materials are still being processed; {action_en} again shortly.")

# -- the life of a case (intake.lifecycle) ------------------------------------------------
declare("case.invalid_transition", 409, "案件当前为“{state_zh}”状态，不能{action_zh}。",
        "A case in state {state} cannot take the action {action}{allowed}.")
declare("case.separation_of_duties", 403, "{who_zh}不能对本案作出决定（职责分离）。",
        "Whoever {who_en} a case may not decide it (separation of duties).")
declare("case.reason_required", 422, "{action_zh}须说明理由。", "Give a reason to {action}.")
declare("case.already_extended", 409, "本案已延期一次，不能再次延期。",
        "The case was already extended once; it cannot be extended again.")
declare("case.extension_invalid", 422, "延期须为 1 至 {limit} 个工作日。",
        "An extension is 1 to {limit} working days.")
declare("case.outstanding_invalid", 422, "容缺受理的材料有误：{detail_zh}。",
        "The outstanding material is invalid: {detail_en}.")
declare("case.decision_invalid", 422, "决定须为准予许可（approve）或不予许可（deny）。",
        "The decision is approve or deny.")

# -- batches and files --------------------------------------------------------------------
declare("batch.empty", 422, "没有上传任何文件。", "No files in the upload.")
declare("batch.too_many_files", 413, "一次最多上传 {limit} 个文件，请分批上传。",
        "At most {limit} files per batch; upload the rest in another batch.")
declare("batch.too_large", 413, "本批次文件合计超过 {limit_mb} MB，请分批上传。",
        "The files of one upload may total at most {limit_mb} MB; upload the rest in "
        "another batch.")
declare("batch.not_multipart", 400, "上传须为 multipart/form-data 格式，文件放在 files 字段。",
        "Upload the files as multipart/form-data in the field 'files'.")
declare("batch.malformed", 400, "上传内容格式有误，无法解析：{reason}。",
        "The multipart upload cannot be parsed: {reason}.")
declare("batch.not_found", 404, "批次 {batch_id} 不存在。", "Batch {batch_id} not found.")
declare("page.worker_lost", 422,
        "第 {page} 页多次导致识别进程中断，已停止处理。请重新扫描该页后上传。",
        "Page {page} stopped the reading process several times and is no longer read; "
        "please rescan it and upload it again.")
declare("batch.cancelled", 422, "本批次已被管理员取消，第 {page} 页未识别。如仍需要，请重新上传。",
        "The batch was cancelled by an administrator and page {page} was not read; upload it "
        "again if it is still needed.")
declare("batch.finished", 409, "批次 {batch_id} 已处理完毕，无法取消。",
        "Batch {batch_id} has already finished and cannot be cancelled.")
declare("page.store_unavailable", 422, "暂时无法读取第 {page} 页的原件，请稍后重新上传本页。",
        "The original of page {page} could not be fetched from storage; upload the page "
        "again.")

# -- certificates -----------------------------------------------------------------------
declare("document.not_found", 404, "材料 {document_id} 不在本案中。",
        "No document {document_id} in this case.")
declare("document.changed", 409, "材料页码已变化，请刷新后重新核验。",
        "The document's pages changed; reload the report and verify again.")
# -- reviewers' corrections of extracted fields (intake.corrections) ---------------------
declare("correction.reason_required", 422, "更正须填写更正原因。",
        "A correction needs a reason.")
declare("correction.field_unknown", 404, "材料“{type_zh}”没有字段 {field}。",
        "A {type} has no field {field}.")
declare("correction.value_too_long", 422, "更正后的值过长（最多 {limit} 个字符）。",
        "The corrected value is too long (at most {limit} characters).")
declare("correction.no_field", 422, "请先选择要更正的字段。", "Choose the field to correct first.")
declare("correction.masked", 403, "字段“{field}”对您的角色脱敏显示，不能由您更正。",
        "Field {field} is masked for your role; you cannot correct it.")
declare("correction.case_closed", 409, "案件当前为“{state_zh}”状态，不能再更正材料。",
        "The case is {state}; its materials can no longer be corrected.")
declare("certificate.not_verifiable", 422, "该材料不能作为证照入库：{reason_zh}。",
        "This document cannot enter the certificate store: {reason_en}.")
declare("certificate.not_found", 404, "证照 {cert_id} 不存在。",
        "Certificate {cert_id} not found.")
declare("certificate.no_scan", 404, "该证照没有留存扫描件。", "No scan is stored for it.")
declare("certificate.purpose_required", 422, "查询证照须说明用途 purpose 和关联办件编号 case_ref。",
        "Give the purpose and case_ref query parameters.")
declare("certificate.query_invalid", 422,
        "查询参数 {name} 过长（上限 {length} 个字符）或含有控制字符。",
        "The query parameter {name} is longer than {length} characters or holds control "
        "characters.")
declare("certificate.holder_required", 422, "须提供持证主体代码 holder_id。", "Give holder_id.")
declare("certificate.scope_denied", 403, "此密钥无权查询该类证照。",
        "This key is not scoped to the type(s) {types}.")

# -- notices and the applicant's progress query ------------------------------------------
declare("notice.not_found", 404, "告知书/通知书 {notice_id} 不存在。",
        "Notice {notice_id} not found.")
declare("notice.damaged", 500, "通知书存档文件校验失败，请联系管理员。",
        "The stored notice does not match its recorded SHA-256; tell the administrator.")
declare("progress.not_found", 404, "办件编号或查询码不正确。",
        "The case number or the query code is wrong.")
declare("progress.too_many_attempts", 429, "查询失败次数过多，请 {retry_after} 秒后再试。",
        "Too many failed attempts; try again in {retry_after} seconds.")
# -- access: centers, ownership, keys, purposes, rate limits -------------------------------
declare("auth.expired_key", 401, "API 密钥已过期。", "The API key has expired.")
declare("case.not_yours", 403, "您不是案件 {case_id} 的经办人，不能修改；请联系本中心管理员转交。",
        "You do not handle case {case_id}; ask your center's admin to hand it over.")
declare("case.assignee_invalid", 422, "密钥 {key_id} 不是本案所属中心的{role_zh}。",
        "Key {key_id} is not a {role_en} of the case's center.")
declare("case.acceptance_date_future", 422, "受理日期不能晚于今天（{today}）。",
        "The acceptance date cannot be after today ({today}).")
declare("case.acceptance_date_backdated", 403, "受理日期早于今天（{today}），只有管理员可以补录。",
        "Only admins may back-date the acceptance date (before {today}).")
declare("case.acceptance_date_too_old", 422, "受理日期不能早于 {earliest}。",
        "The acceptance date cannot be before {earliest}.")
declare("center.not_found", 404, "服务中心 {center} 不存在。", "No service center {center}.")
declare("center.exists", 409, "服务中心 {center} 已存在。", "Service center {center} exists.")
declare("center.invalid", 422, "服务中心信息有误：{reason_zh}。",
        "Invalid service center: {reason_en}.")
declare("apikey.not_found", 404, "API 密钥 {key_id} 不存在。", "API key {key_id} not found.")
declare("apikey.invalid", 422, "API 密钥参数有误：{reason_zh}。", "Invalid API key: {reason_en}.")
declare("certificate.case_ref_invalid", 422,
        "关联办件 {case_ref} 不存在或不在您可查看的范围内。",
        "case_ref {case_ref} names no case you may open.")
declare("certificate.not_a_party", 403, "所查询的持证主体不是办件 {case_ref} 的当事人。",
        "The holder is not a party to case {case_ref}.")
declare("certificate.purpose_undeclared", 403, "用途“{purpose}”不在此密钥登记的用途中。",
        "Purpose '{purpose}' is not among the key's declared purposes{declared}.")
declare("certificate.expire_date_invalid", 422, "到期处理日期须在 {earliest} 至 {latest} 之间。",
        "The expiry date must lie between {earliest} and {latest}.")
declare("rate.limited", 429, "请求过于频繁，请 {seconds} 秒后再试。",
        "Too many requests; retry in {seconds} s.")

# -- people signing in to the pages ------------------------------------------------------
declare("auth.sign_in_failed", 401, "用户名或密码不正确。", "Wrong user name or password.")
declare("auth.locked", 429, "密码错误次数过多，账号已锁定，请 {minutes} 分钟后再试。",
        "Too many wrong passwords: the account is locked; try again in {minutes} minutes.")
declare("auth.signed_out", 401, "请先登录。", "Please sign in.")
declare("auth.csrf", 403, "页面已过期，请刷新后重试。",
        "The page has expired (missing or wrong CSRF token); reload it and try again.")
# -- scanner stations: stacks, cover sheets, the inbox ------------------------------------
declare("stack.empty", 422, "没有上传任何文件。", "No files in the upload.")
declare("stack.too_many_files", 413, "一次最多上传 {limit} 个文件，请分批上传。",
        "At most {limit} files per stack; upload the rest as another stack.")
declare("stack.not_found", 404, "扫描批次 {stack_id} 不存在。", "Stack {stack_id} not found.")
declare("case.closed", 409, "案件 {case_number} 已办结，不能再添加材料。",
        "Case {case_number} is closed; no materials can be added to it.")
declare("inbox.page_not_found", 404, "待归档页 {page_id} 不存在。",
        "No page {page_id} in the inbox.")
declare("inbox.page_not_held", 409, "该页已归入案件 {case_number}，不在待归档箱中。",
        "This page already belongs to case {case_number}; it is not in the inbox.")
# Why a page of a stack waits in the inbox (stored with the page, shown to the clerk).
declare("stack.no_cover_sheet", 422,
        "本页之前没有案件封面页，无法确定所属案件，请人工归档。",
        "No cover sheet precedes this page, so its case is unknown; attach it by hand.")
declare("cover.forged", 422,
        "第 {cover_page} 页的封面页校验失败（二维码被改动或并非本系统打印），"
        "其后各页未归入任何案件，请核实后人工归档。",
        "The cover sheet on page {cover_page} failed its check (its QR code was altered or "
        "not printed by this system); the pages behind it were not attached to any case. "
        "Check them and attach them by hand.")
declare("cover.unknown_case", 422,
        "第 {cover_page} 页封面页上的案件 {case_number} 不存在，其后各页请人工归档。",
        "The cover sheet on page {cover_page} names case {case_number}, which does not "
        "exist; attach the pages behind it by hand.")
declare("cover.case_closed", 422,
        "第 {cover_page} 页封面页所属案件 {case_number} 已办结，其后各页未归档，请人工处理。",
        "The cover sheet on page {cover_page} is for case {case_number}, which is closed; "
        "the pages behind it were not attached.")
declare("cover.unreadable", 422,
        "第 {cover_page} 页疑似封面页，但二维码无法识别（破损或遮挡），其后各页未自动归档。"
        "请人工归档，或重新打印封面页后重新扫描。",
        "Page {cover_page} looks like a cover sheet but its QR code cannot be read (damaged "
        "or covered); the pages behind it were not attached automatically. Attach them by "
        "hand, or print a new cover sheet and scan again.")
declare("page.not_found", 404, "页面 {page_id} 不存在。", "Page {page_id} not found.")

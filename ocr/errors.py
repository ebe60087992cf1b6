"""Errors raised while opening and rasterising uploaded files.

Every failure has a stable `code` (the intake layer and the API map codes, never message
text) and a bilingual `message` for the window clerk: Chinese first, then English in
parentheses, saying what went wrong *and what to ask the applicant for*. Codes starting
with ``file.`` mean nothing in the file can be used; ``page.`` codes affect one page and
the other pages of the same file are still read.
"""

from __future__ import annotations

from typing import Final

ACCEPTED_FORMATS_ZH: Final = "PDF、TIFF、JPEG 或 PNG"
ACCEPTED_FORMATS_EN: Final = "PDF, TIFF, JPEG or PNG"

# code -> (Chinese, English). `{...}` fields are filled by SourceError.of(code, **fields).
MESSAGES: Final[dict[str, tuple[str, str]]] = {
    "file.empty": (
        "文件为空，没有可读取的内容。请重新扫描或重新上传。",
        "The file is empty and has nothing to read; please scan or upload it again.",
    ),
    "file.too_large": (
        "文件过大（{size_mb} MB，上限 {limit_mb} MB）。请降低扫描分辨率或分成多个文件上传。",
        "The file is too large ({size_mb} MB, limit {limit_mb} MB); please scan at a lower "
        "resolution or split it into several files.",
    ),
    "file.unsupported_format": (
        "不支持的文件格式{what_zh}。请上传 " + ACCEPTED_FORMATS_ZH + " 格式的扫描件。",
        "Unsupported file format{what_en}; please upload a " + ACCEPTED_FORMATS_EN + " scan.",
    ),
    "file.archive_unsupported": (
        "压缩包不能直接读取{what_zh}。请解压后，把其中的扫描件（" + ACCEPTED_FORMATS_ZH
        + "）逐个上传。",
        "A compressed archive cannot be read{what_en}; please unzip it and upload the scans "
        "inside (" + ACCEPTED_FORMATS_EN + ") one by one.",
    ),
    "file.document_unsupported": (
        "该文件不能直接读取{what_zh}。请用对应软件（如 OFD 阅读器、WPS、Office）打开后"
        "“打印”为 PDF，再上传该 PDF。",
        "This file cannot be read directly{what_en}; please open it in its program (an OFD "
        "reader, WPS, Office) and print it to PDF, then upload that PDF.",
    ),
    "file.corrupt": (
        "文件已损坏或不完整，无法打开。请重新扫描或重新上传原文件。",
        "The file is damaged or incomplete and cannot be opened; please scan or upload the "
        "original again.",
    ),
    "file.encrypted": (
        "文件已加密，无法读取。请提供未加密的扫描件。",
        "The file is password-protected; please provide an unencrypted scan.",
    ),
    "file.too_many_pages": (
        "文件页数过多（{pages} 页，上限 {limit} 页）。请分成多个文件上传。",
        "The file has too many pages ({pages}, limit {limit}); please split it into several "
        "files.",
    ),
    "file.too_complex": (
        "文件结构过于复杂，超出了允许的处理时间或内存，无法打开。请将文件打印后重新扫描上传。",
        "The file is too complex to open within the time and memory allowed; please print it "
        "and upload a scan.",
    ),
    "page.too_many_pixels": (
        "第 {page} 页图像尺寸异常过大（{mpixels} 百万像素，上限 {limit} 百万像素），已拒绝处理。"
        "请以 200–300 dpi 重新扫描该页。",
        "Page {page}: the image is abnormally large ({mpixels} megapixels, limit {limit}) and "
        "was refused; please rescan this page at 200–300 dpi.",
    ),
    "page.content_too_large": (
        "第 {page} 页的内容数据异常庞大（解压后超过 {limit_mb} MB），已拒绝处理。"
        "请将该页打印后重新扫描上传。",
        "Page {page}: its content is abnormally large (over {limit_mb} MB once "
        "decompressed) and was refused; please print this page and upload a scan of it.",
    ),
    "page.too_complex": (
        "第 {page} 页过于复杂，超出了单页允许的处理时间或内存，已停止处理。"
        "请将该页打印后重新扫描上传。",
        "Page {page} is too complex: it needs more processing time or memory than one page "
        "may use, and was stopped; please print this page and upload a scan of it.",
    ),
    "page.render_failed": (
        "第 {page} 页无法读取，可能已损坏。请重新扫描该页。",
        "Page {page} could not be read and may be damaged; please rescan this page.",
    ),
    "page.read_failed": (
        "第 {page} 页无法识别，请重新扫描该页后上传；如仍失败请联系管理员。",
        "Page {page} could not be read; please rescan it and upload it again, and tell the "
        "administrator if it fails again.",
    ),
}

CODES: Final = frozenset(MESSAGES)


class SourceError(Exception):
    """A file or one of its pages cannot be used.

    `page` is the 1-based page number for ``page.*`` codes, ``None`` for the whole file:
    the page's place in its file. `fields` fill the message's placeholders, so a caller
    that numbers pages otherwise (a case numbers them across files) can word the message
    again with its own number.
    """

    def __init__(self, code: str, message: str, *, page: int | None = None,
                 fields: dict[str, object] | None = None) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.page = page
        self.fields = dict(fields or {})

    @classmethod
    def of(cls, code: str, *, page: int | None = None, **fields: object) -> SourceError:
        """Build the error for `code` from the message catalogue above."""
        zh, en = MESSAGES[code]
        if page is not None:
            fields.setdefault("page", page)
        fields.setdefault("what_zh", "")
        fields.setdefault("what_en", "")
        return cls(code, f"{zh.format(**fields)}({en.format(**fields)})", page=page,
                   fields=fields)

"""Builders for the hostile-file corpus: every file is generated here, in memory or in a
temporary directory, never committed. Each builder makes one kind of file an uploader (or
an attacker) can send under the upload size limit: empty and truncated files, encrypted
PDFs, pixel bombs, a Flate stream bomb, thousands of pages, pages of hundreds of thousands
of operators, archives and office files, polyglots and web pages named ``.pdf``.
"""

from __future__ import annotations

import io
import struct
import zipfile
import zlib
from collections.abc import Iterable

from PIL import Image

from tests.ocr.pagekit import build_pdf, stream

MIB = 1024 * 1024


# -- PDF -------------------------------------------------------------------------------

def flate(chunks: Iterable[bytes]) -> bytes:
    compressor = zlib.compressobj(9)
    out = bytearray()
    for chunk in chunks:
        out += compressor.compress(chunk)
    out += compressor.flush()
    return bytes(out)


FONT = b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"


def pages_pdf(contents: list[int], content_objects: list[bytes],
              size: tuple[int, int] = (595, 842)) -> bytes:
    """A PDF whose page i draws content object `contents[i]` (an index into
    `content_objects`, so many pages can share one stream), with Helvetica as /F1."""
    first_page, first_content = 4, 4 + len(contents)
    kids = b" ".join(f"{first_page + i} 0 R".encode() for i in range(len(contents)))
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>",
               b"<< /Type /Pages /Kids [" + kids + b"] /Count "
               + str(len(contents)).encode() + b" >>",
               FONT]
    for index in contents:
        objects.append(
            f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 {size[0]} {size[1]}] "
            f"/Contents {first_content + index} 0 R /Resources << /Font << /F1 3 0 R >> >> "
            f">>".encode())
    objects.extend(content_objects)
    return build_pdf(objects)


TEXT = b"BT /F1 18 Tf 72 700 Td (An ordinary page with an ordinary text layer.) Tj ET"


def flate_bomb_pdf(decoded: int = 1536 * MIB) -> bytes:
    """Two pages: page 1's content stream inflates to `decoded` bytes (blanks, then one
    line of text) from ~1/1000 of that; page 2 is ordinary."""
    def body() -> Iterable[bytes]:
        blank = b" " * MIB
        for _ in range(decoded // MIB):
            yield blank
        yield TEXT

    bomb = stream(flate(body()), b"/Filter /FlateDecode")
    return pages_pdf([0, 1], [bomb, stream(TEXT)])


def heavy_text_pdf(pages: int = 500, operators: int = 200_000) -> bytes:
    """`pages` pages sharing one Flate content stream of `operators` text-showing
    operators: a few hundred KB that take a PDF parser minutes per page."""
    ops = b"".join(f"{72 + i % 400} {100 + i % 600} Td (W{i % 10}) Tj\n".encode()
                   for i in range(1000))
    content = flate([b"BT /F1 9 Tf\n", *([ops] * (operators // 1000)), b"ET\n"])
    return pages_pdf([0] * pages, [stream(content, b"/Filter /FlateDecode")])


def many_pages_pdf(pages: int = 5000) -> bytes:
    return pages_pdf([0] * pages, [stream(TEXT)])


def encrypted_pdf(user_password: str) -> bytes:
    """AES-256 (R6); with an empty user password it opens without one (permissions
    only), with a user password it cannot be read."""
    import pikepdf

    source = pages_pdf([0], [stream(TEXT)])
    out = io.BytesIO()
    with pikepdf.open(io.BytesIO(source)) as pdf:
        pdf.save(out, encryption=pikepdf.Encryption(user=user_password, owner="owner-secret",
                                                     R=6))
    return out.getvalue()


# -- images ------------------------------------------------------------------------------

def _png_chunk(kind: bytes, data: bytes) -> bytes:
    body = kind + data
    return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))


def png_pixel_bomb(width: int, height: int, *, rgb: bool = True) -> bytes:
    """A valid PNG of `width` x `height` black pixels: every row is really there, so it
    decodes completely (~1/1000 compression of zeros)."""
    channels = 3 if rgb else 1
    row = b"\x00" * (1 + width * channels)
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2 if rgb else 0, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", ihdr)
            + _png_chunk(b"IDAT", flate(row for _ in range(height)))
            + _png_chunk(b"IEND", b""))


def png_with_text(png: bytes, text: bytes) -> bytes:
    """`png` with a tEXt chunk right after IHDR (within the first KiB)."""
    return png[:33] + _png_chunk(b"tEXt", b"Comment\x00" + text) + png[33:]


def tiff_pixel_bomb(width: int, height: int) -> bytes:
    """A valid single-strip Deflate grayscale TIFF of `width` x `height` white pixels."""
    data = flate(b"\xff" * width for _ in range(height))
    entries = [(256, 4, width), (257, 4, height), (258, 3, 8), (259, 3, 8), (262, 3, 1),
               (273, 4, 8), (277, 3, 1), (278, 4, height), (279, 4, len(data))]
    ifd_offset = 8 + len(data)
    ifd = struct.pack("<H", len(entries))
    for tag, kind, value in entries:
        ifd += struct.pack("<HHI", tag, kind, 1)
        ifd += struct.pack("<HH", value, 0) if kind == 3 else struct.pack("<I", value)
    ifd += struct.pack("<I", 0)
    return b"II*\x00" + struct.pack("<I", ifd_offset) + data + ifd


def jpeg_claiming(width: int, height: int) -> bytes:
    """A small real JPEG whose frame header claims `width` x `height` pixels."""
    buffer = io.BytesIO()
    Image.new("L", (64, 64), 255).save(buffer, "JPEG")
    data = bytearray(buffer.getvalue())
    sof = data.index(b"\xff\xc0")
    data[sof + 5:sof + 9] = struct.pack(">HH", height, width)
    return bytes(data)


def large_jpeg(width: int, height: int) -> bytes:
    """A real, complete grayscale JPEG of `width` x `height` (a 1200 dpi scan)."""
    buffer = io.BytesIO()
    Image.new("L", (width, height), 250).save(buffer, "JPEG", quality=50)
    return buffer.getvalue()


def tiff_frames(count: int) -> bytes:
    frame = Image.new("1", (32, 32), 1)
    buffer = io.BytesIO()
    frame.save(buffer, "TIFF", save_all=True, append_images=[frame] * (count - 1),
               compression="group4")
    return buffer.getvalue()


# -- containers and impostors ------------------------------------------------------------

def zip_of(members: dict[str, bytes], compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def docx() -> bytes:
    return zip_of({"[Content_Types].xml": b"<Types/>", "_rels/.rels": b"<Relationships/>",
                   "word/document.xml": b"<w:document/>"})


def ofd() -> bytes:
    return zip_of({"OFD.xml": b"<ofd:OFD/>", "Doc_0/Document.xml": b"<ofd:Document/>",
                   "Doc_0/Pages/Page_0/Content.xml": b"<ofd:Page/>"})


def html_named_pdf() -> bytes:
    return (b"<!DOCTYPE html>\n<html><head><title>Session expired</title></head>"
            b"<body>Please log in again. %PDF-1.7</body></html>")

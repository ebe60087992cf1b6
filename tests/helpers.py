"""Small builders shared by tests."""

from __future__ import annotations

import io
import socket


def text_pdf(pages: list[list[str]]) -> bytes:
    """A born-digital A4 PDF whose pages carry the given Chinese lines as a real text layer
    (Adobe's STSong-Light CID font, as many government PDF writers use)."""
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.pdfgen import canvas

    pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))
    buffer = io.BytesIO()
    pdf = canvas.Canvas(buffer, pagesize=A4)
    _, height = A4
    for lines in pages:
        y = height - 80
        for n, line in enumerate(lines):
            size = 20 if n == 0 else 12
            pdf.setFont("STSong-Light", size)
            pdf.drawString(60, y, line)
            y -= size * 2
        pdf.showPage()
    pdf.save()
    return buffer.getvalue()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port

"""Find the CJK fonts docintake draws with.

The one-time notification PDF (`intake.notification`) embeds Noto Sans CJK SC, and the
synthetic sample pages (`samples`) are drawn with Noto Sans / Serif CJK SC. On
Debian/Ubuntu these come from the package ``fonts-noto-cjk`` as TrueType collections
(``.ttc``) whose face number 2 is Simplified Chinese; elsewhere we ask fontconfig.
"""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

_DEBIAN_DIR = Path("/usr/share/fonts/opentype/noto")
# Face number of "… CJK SC" inside the Debian/Google Noto CJK collections.
_SC_FACE_IN_TTC = 2


class FontNotFoundError(RuntimeError):
    """No usable CJK font is installed."""


@dataclass(frozen=True)
class CjkFont:
    """A font file and the face to use inside it (0 for a plain .otf/.ttf)."""

    path: Path
    index: int


def _debian_candidate(family: str, bold: bool) -> CjkFont | None:
    path = _DEBIAN_DIR / f"Noto{family}CJK-{'Bold' if bold else 'Regular'}.ttc"
    return CjkFont(path, _SC_FACE_IN_TTC) if path.is_file() else None


def _fontconfig_candidate(family: str, bold: bool) -> CjkFont | None:
    if shutil.which("fc-match") is None:
        return None
    pattern = f"Noto {family} CJK SC" + (":bold" if bold else "")
    try:
        out = subprocess.run(
            ["fc-match", "-f", "%{file}\n%{index}\n%{family}", pattern],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    parts = out.split("\n")
    if len(parts) < 3:
        return None
    # fc-match always answers with *some* font; only accept a real Noto CJK match, else we
    # would silently draw tofu boxes with DejaVu.
    if "CJK" not in parts[2]:
        return None
    path = Path(parts[0])
    if not path.is_file():
        return None
    try:
        index = int(parts[1] or 0)
    except ValueError:
        index = 0
    return CjkFont(path, index)


@lru_cache(maxsize=8)
def cjk_font(bold: bool = False, *, serif: bool = False) -> CjkFont:
    """Noto Sans (or Serif) CJK SC, regular or bold.

    A serif request falls back to Sans when no serif CJK font is installed, because the
    serif face is only used for looks. Raises `FontNotFoundError` when no CJK font exists.
    """
    families = ["Serif", "Sans"] if serif else ["Sans"]
    for family in families:
        for lookup in (_debian_candidate, _fontconfig_candidate):
            found = lookup(family, bold)
            if found is not None:
                return found
    if bold:
        # A regular face drawn as bold is better than failing.
        return cjk_font(False, serif=serif)
    raise FontNotFoundError(
        "No Noto CJK font found (looked in /usr/share/fonts/opentype/noto and asked "
        "fc-match for 'Noto Sans CJK SC'). Install the Debian/Ubuntu package "
        "fonts-noto-cjk (apt-get install fonts-noto-cjk) or an equivalent Noto Sans CJK SC."
    )


def cjk_font_path(bold: bool = False) -> Path:
    """Path of the Noto Sans CJK font file (see `cjk_font` for the face index)."""
    return cjk_font(bold).path

"""What the workbench draws of a page."""

from __future__ import annotations


def test_a_photographed_page_is_drawn_straightened_as_it_was_read() -> None:
    from PIL import Image

    from intake.casepages import straighten

    photo = Image.new("RGB", (400, 300), "white")
    photo.paste((255, 0, 0), (100, 75, 300, 225))  # the document: the middle of the photo
    # page (200 x 150 units) -> photo fractions: x/200*0.5+0.25, y/150*0.5+0.25
    warp = [0.5 / 200, 0, 0.25, 0, 0.5 / 150, 0.25, 0, 0, 1]
    page = straighten(photo, warp, (200.0, 150.0), side=100)
    assert page.size == (100, 75)
    corners = [page.getpixel(p) for p in ((2, 2), (97, 2), (2, 72), (97, 72), (50, 37))]
    assert all(c == (255, 0, 0) for c in corners)  # only the document, filling the frame

"""Draw the app icon (a map pin over a grid) as SVG and render it to PNG with Chromium.

One drawing, two framings: ``icon.svg`` / ``icon-192.png`` / ``icon-512.png`` are
"any" icons (rounded tile, the mark filling 75 %); ``icon-maskable-512.png`` and
``icon-maskable-192.png`` are full-bleed with the mark inside the central 56 %, well
within the 80 % safe-zone circle that Android crops to any shape.

    .venv/bin/python pwa/scripts/make_icons.py     # writes pwa/public/
"""
from __future__ import annotations

import pathlib

PUBLIC = pathlib.Path(__file__).resolve().parents[1] / "public"
CHROMIUM = "/usr/bin/chromium"
BLUE = "#0b3d91"

# The mark in a 384×384 box: a 3×3 grid (the 网格) and a pin (the place) over it.
MARK = (
    '<g fill="none" stroke="#fff" stroke-opacity=".55" stroke-width="12" stroke-linecap="round">'
    '<rect x="24" y="48" width="336" height="312" rx="20"/>'
    '<path d="M136 48v312M248 48v312M24 152h336M24 256h336"/></g>'
    f'<path d="M192 350C150 288 92 236 92 154a100 100 0 1 1 200 0c0 82-58 134-100 196z" fill="#fff" stroke="{BLUE}" stroke-width="10"/>'
    '<circle cx="192" cy="154" r="42" fill="#ffcc00"/>'
)


def svg(size: int = 512, maskable: bool = False) -> str:
    """The icon as SVG text; ``maskable`` puts the mark in the safe zone on a full-bleed tile.

    >>> 'rx="96"' in svg() and 'rx="96"' not in svg(maskable=True)
    True
    """
    share = 0.56 if maskable else 0.75
    scale = 512 * share / 384
    off = (512 - 384 * scale) / 2
    tile = f'<rect width="512" height="512" fill="{BLUE}"/>' if maskable else f'<rect width="512" height="512" rx="96" fill="{BLUE}"/>'
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{size}" height="{size}" viewBox="0 0 512 512">'
            f'{tile}<g transform="translate({off:.1f} {off:.1f}) scale({scale:.4f})">{MARK}</g></svg>')


def main() -> None:
    from playwright.sync_api import sync_playwright

    (PUBLIC / "icon.svg").write_text(svg(64).replace('width="64" height="64" ', ""), encoding="utf-8")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox", "--disable-gpu"])
        for name, size, maskable in (("icon-192.png", 192, False), ("icon-512.png", 512, False),
                                     ("icon-maskable-192.png", 192, True), ("icon-maskable-512.png", 512, True)):
            page = browser.new_page(viewport={"width": size, "height": size})
            page.set_content(f'<html><body style="margin:0;background:transparent">{svg(size, maskable)}</body></html>')
            page.screenshot(path=str(PUBLIC / name), omit_background=True, clip={"x": 0, "y": 0, "width": size, "height": size})
            page.close()
        browser.close()


if __name__ == "__main__":
    main()

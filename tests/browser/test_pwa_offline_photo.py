"""An offline photo: picked from a file chooser, downscaled on the device, uploaded after sync."""
import base64
import hashlib
import struct

import requests

from tests.browser.test_pwa_helpers import (
    go_offline_and_reload,
    inside_point,
    login_field,
    set_position,
    wait_location,
    wait_synced,
)

GRID = "320105002002008"


def jpeg_size(data: bytes) -> tuple[int, int]:
    """(width, height) from a JPEG's SOF marker."""
    i = 2
    while i < len(data):
        if data[i] != 0xFF:
            i += 1
            continue
        marker = data[i + 1]
        length = struct.unpack(">H", data[i + 2:i + 4])[0]
        if marker in (0xC0, 0xC1, 0xC2):
            h, w = struct.unpack(">HH", data[i + 5:i + 9])
            return w, h
        i += 2 + length
    raise ValueError("no SOF marker")


def make_big_jpeg(page, width=4000, height=3000) -> bytes:
    """A noisy 12-megapixel JPEG drawn by the browser itself (no imaging library needed)."""
    b64 = page.evaluate("""([w, h]) => {
        const c = document.createElement('canvas'); c.width = w; c.height = h;
        const g = c.getContext('2d');
        for (let i = 0; i < 4000; i++) {
            g.fillStyle = `hsl(${(i * 37) % 360}, 80%, ${30 + (i % 50)}%)`;
            g.fillRect((i * 97) % w, (i * 61) % h, 40 + (i % 90), 30 + (i % 70));
        }
        return c.toDataURL('image/jpeg', 0.95).split(',')[1];
    }""", [width, height])
    return base64.b64decode(b64)


def test_offline_photo_is_downscaled_and_uploaded(live_server, new_context, db, make_user, tmp_path):
    user = make_user("pwa_photo_user", "patroller", grids=(GRID,))
    here = inside_point(GRID)
    ctx = new_context()
    page = ctx.new_page()
    login_field(page, user)
    original = make_big_jpeg(page)
    assert jpeg_size(original) == (4000, 3000)
    photo = tmp_path / "big.jpg"
    photo.write_bytes(original)

    go_offline_and_reload(ctx, page)
    set_position(ctx, here)
    page.get_by_test_id("duty-report").click()
    page.get_by_test_id("report-note").fill("photo-report-note")
    with page.expect_file_chooser() as fc:
        page.get_by_test_id("report-photo").click()
    fc.value.set_files(str(photo))
    page.wait_for_function(
        "document.querySelector('[data-testid=report-photo-list]').dataset.count === '1'", timeout=30000)
    sha = page.locator("[data-testid=report-photo-list] img").get_attribute("data-sha")
    wait_location(page, "report")
    page.get_by_test_id("report-save").click()
    page.get_by_test_id("duty-report").wait_for()

    # Stored on the device as a Blob whose hash is its name.
    stored = page.evaluate("""async sha => {
        const p = await window.gridpatrol.db.photos.get(sha);
        const buf = await p.blob.arrayBuffer();
        const d = await crypto.subtle.digest('SHA-256', buf);
        return {size: p.blob.size, hex: [...new Uint8Array(d)].map(x => x.toString(16).padStart(2, '0')).join('')};
    }""", sha)
    assert stored["hex"] == sha

    ctx.set_offline(False)
    wait_synced(page)
    deadline_ok = False
    for _ in range(120):
        if db.execute("select 1 from attachment where sha256 = %s", (sha,)).fetchone():
            deadline_ok = True
            break
        page.wait_for_timeout(250)
    assert deadline_ok, "photo never reached the server"

    size, ctype = db.execute("select size, content_type from attachment where sha256 = %s", (sha,)).fetchone()
    assert ctype == "image/jpeg"
    assert size == stored["size"] < len(original)
    # The bytes the server serves hash to the name and are at most 1600 px on the long edge.
    token = page.evaluate("window.gridpatrol.db.kv.get('token').then(r => r.value)")
    r = requests.get(f"{live_server.url}/api/v1/attachments/{sha}", headers={"Authorization": f"Bearer {token}"}, timeout=10)
    assert r.status_code == 200
    assert hashlib.sha256(r.content).hexdigest() == sha
    w, h = jpeg_size(r.content)
    assert max(w, h) <= 1600 and (w, h) == (1600, 1200)

    rec = db.execute("select data from record where entity = 'inspection' and data->>'note' = 'photo-report-note'").fetchone()
    assert rec[0]["photos"] == [sha]

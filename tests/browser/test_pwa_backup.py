"""Backup: export unsent work on one browser, import it on a fresh one, sync. No duplicates."""
from tests.browser.test_pwa_helpers import (
    go_offline_and_reload,
    inside_point,
    login_field,
    outbox_count,
    set_position,
    wait_location,
    wait_synced,
)

GRID = "320105005002010"


def test_export_import_sync_without_duplicates(live_server, new_context, db, make_user, tmp_path):
    user = make_user("pwa_backup_user", "patroller", grids=(GRID,))
    here = inside_point(GRID)
    notes = ["backup-note-1", "backup-note-2"]

    ctx = new_context(accept_downloads=True)
    page = ctx.new_page()
    login_field(page, user)
    go_offline_and_reload(ctx, page)
    set_position(ctx, here)
    for note in notes:
        page.get_by_test_id("duty-report").click()
        page.get_by_test_id("report-note").fill(note)
        wait_location(page, "report")
        page.get_by_test_id("report-save").click()
        page.get_by_test_id("duty-report").wait_for()
    assert outbox_count(page) == 2

    page.get_by_test_id("nav-settings").click()
    with page.expect_download() as dl:
        page.get_by_test_id("backup-export").click()
    path = tmp_path / "backup.json"
    dl.value.save_as(path)

    # A fresh phone: log in, import twice (the second import adds nothing), sync.
    ctx2 = new_context()
    page2 = ctx2.new_page()
    login_field(page2, user)
    page2.get_by_test_id("nav-settings").click()
    page2.get_by_test_id("backup-import").set_input_files(str(path))
    page2.wait_for_selector("[data-testid=backup-result][data-ops='2']")
    page2.get_by_test_id("backup-import").set_input_files(str(path))
    page2.wait_for_selector("[data-testid=backup-result][data-ops='0']")
    wait_synced(page2)

    def count():
        return db.execute(
            "select count(*) from record where entity = 'inspection' and data->>'note' = any(%s)", (notes,)
        ).fetchone()[0]
    assert count() == 2

    # The first phone comes back online and sends the same ops: still exactly two.
    ctx.set_offline(False)
    page.get_by_test_id("nav-home").click()
    page.get_by_test_id("sync-now").click()
    wait_synced(page)
    assert count() == 2
    incidents = db.execute(
        "select count(*) from record i where i.entity = 'incident' and i.id::text in"
        " (select data->>'incident_id' from record where entity = 'inspection' and data->>'note' = any(%s))",
        (notes,)).fetchone()[0]
    assert incidents == 2

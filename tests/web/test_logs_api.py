"""Per-run log files (redacted, bounded), their list (paged by limit/offset in the API, by page on
the Logs page) and the log viewer API (paging, tail, search, download, delete, no path traversal)."""

import logging
import os
import re
import time
from pathlib import Path

import pytest
import requests
from playwright.sync_api import expect

from prefetch import run_logs
from prefetch.models import PrefetchSettings, Run, UpcomingRelease
from prefetch.runs.execute import execute_run
from prefetch.runs.lifecycle import create_run
from tests.helpers import configure

pytestmark = pytest.mark.django_db(transaction=True)
SECRET = "Sup3rSecretDebridKey1234567890"


@pytest.fixture
def log_dir(tmp_path, settings):
    settings.LOG_DIR = tmp_path / "logs"
    return Path(settings.LOG_DIR)


def write_log(folder: Path, name: str, lines: int) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text("".join(f"line {n} {'needle' if n % 10 == 0 else 'hay'}\n" for n in range(1, lines + 1)))
    return path


def write_logs(folder: Path, count: int) -> list[str]:
    """`count` log files a minute apart; their names in the list's order, newest first."""
    now = time.time()
    names = []
    for n in range(count):
        path = write_log(folder, f"streams_prefetcher_logs_2026-01-01_00-00-00_run{n + 1}.txt", 1)
        os.utime(path, (now - 60 * n, now - 60 * n))
        names.append(path.name)
    return names


def test_a_run_writes_its_own_redacted_log_file(user_client, log_dir, peer):
    addon = configure(peer.url, [("movie", "peer-popular")], movies_per_catalog=3, logging_enabled=True)
    secret_url = peer.url.replace("/manifest.json", f"/{SECRET}/manifest.json")
    type(addon).objects.filter(pk=addon.pk).update(url=secret_url)
    run = create_run("manual")
    execute_run(run.pk)
    run = Run.objects.get(pk=run.pk)
    assert run.status == "completed", run.error
    assert run.log_file.startswith("streams_prefetcher_logs_") and run.log_file.endswith(f"_run{run.pk}.txt")
    text = (log_dir / run.log_file).read_text()
    assert "Run started" in text and "Run finished" in text and "SUMMARY" in text
    assert SECRET not in text and f"127.0.0.1:{peer.port}/***/manifest.json" in text
    assert SECRET not in " ".join(run.progress["log_tail"])
    listed = user_client.get("/api/logs").json()["logs"]
    assert [entry["filename"] for entry in listed] == [run.log_file]
    assert listed[0]["size"] == (log_dir / run.log_file).stat().st_size


def test_no_file_when_logging_is_off(log_dir, peer):
    configure(peer.url, [("movie", "peer-popular")], movies_per_catalog=1, logging_enabled=False)
    run = create_run("manual")
    execute_run(run.pk)
    assert Run.objects.get(pk=run.pk).log_file == ""
    assert not list(log_dir.glob("*.txt")) if log_dir.exists() else True


def test_list_newest_first_view_paging_tail_search_delete(user_client, log_dir):
    old = write_log(log_dir, "streams_prefetcher_logs_2026-01-01_00-00-00_run1.txt", 1200)
    new = write_log(log_dir, "streams_prefetcher_logs_2026-01-02_00-00-00_run2.txt", 5)
    os.utime(old, (time.time() - 3600, time.time() - 3600))
    (log_dir / "unrelated.txt").write_text("not ours")
    names = [entry["filename"] for entry in user_client.get("/api/logs").json()["logs"]]
    assert names == [new.name, old.name]

    first = user_client.get(f"/api/logs/{old.name}?offset=0&limit=100").json()
    assert first["total_lines"] == 1200 and len(first["lines"]) == 100 and first["lines"][0] == {"n": 1, "text": "line 1 hay"}
    second = user_client.get(f"/api/logs/{old.name}?offset=100&limit=100").json()
    assert second["lines"][0]["n"] == 101
    tail = user_client.get(f"/api/logs/{old.name}?tail=3").json()
    assert [line["n"] for line in tail["lines"]] == [1198, 1199, 1200] and tail["content"].endswith("line 1200 needle")
    found = user_client.get(f"/api/logs/{old.name}?q=NEEDLE&limit=1000").json()
    assert found["total_lines"] == 120 and all("needle" in line["text"] for line in found["lines"])

    assert user_client.delete(f"/api/logs/{new.name}").json()["success"] is True
    assert not new.exists()
    assert user_client.delete(f"/api/logs/{new.name}").status_code == 404
    assert user_client.delete("/api/logs").json()["deleted"] == 1
    assert not old.exists() and (log_dir / "unrelated.txt").exists()  # only our own files


def test_a_download_is_the_file_as_asked_streamed_by_the_asgi_server(user_client, log_dir, asgi_server, recwarn,
                                                                       caplog):
    """Through uvicorn, as deployed: read a chunk at a time by an async iterator (Django warns about a
    sync one, and reads it whole into memory first); a run appending meanwhile adds nothing past the
    announced length."""
    path = write_log(log_dir, "streams_prefetcher_logs_2026-01-01_00-00-00_run1.txt", 400_000)  # 7 MB: many chunks
    asked = path.read_bytes()
    cookies = {"sessionid": user_client.cookies["sessionid"].value}
    with requests.get(f"{asgi_server.url}/api/logs/{path.name}?download=1", cookies=cookies, stream=True,
                      timeout=30) as download:
        assert download.status_code == 200
        assert download.headers["Content-Disposition"] == f'attachment; filename="{path.name}"'
        assert download.headers["Content-Type"] == "text/plain; charset=utf-8"
        assert int(download.headers["Content-Length"]) == len(asked)
        with path.open("a") as log:  # while the server is still sending: it pauses once the socket is full
            log.write("written after the download started\n")
        assert download.raw.read() == asked
    assert [str(w.message) for w in recwarn] == []
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == []


@pytest.mark.parametrize("name", [
    "../secret_key", "..%2Fsecret_key", "%2e%2e/%2e%2e/etc/passwd", "/etc/passwd", "streams_prefetcher_logs_../../x.txt",
    "streams_prefetcher_logs_a/../../../secret_key.txt", "unrelated.txt", "streams_prefetcher_logs_x.txt.bak",
])
def test_names_outside_the_log_folder_are_refused(user_client, log_dir, name):
    (log_dir.parent / "secret_key").write_text("do not read")
    (log_dir / "unrelated.txt").parent.mkdir(parents=True, exist_ok=True)
    (log_dir / "unrelated.txt").write_text("not ours")
    for method in ("get", "delete"):
        response = getattr(user_client, method)(f"/api/logs/{name}")
        assert response.status_code in (400, 404), (method, name)
        assert b"do not read" not in response.content
    assert (log_dir.parent / "secret_key").exists() and (log_dir / "unrelated.txt").exists()
    assert run_logs.safe_path(name.replace("%2F", "/").replace("%2e", ".")) is None


def test_pruning_deletes_old_runs_with_their_logs_and_caps_the_folder(log_dir, monkeypatch):
    from datetime import timedelta

    from django.utils import timezone

    keep = write_log(log_dir, "streams_prefetcher_logs_2026-11-01_00-00-00_run2.txt", 1)
    gone = write_log(log_dir, "streams_prefetcher_logs_2026-01-01_00-00-00_run1.txt", 1)
    stale = write_log(log_dir, "streams_prefetcher_logs_2025-01-01_00-00-00_run0.txt", 1)
    os.utime(stale, (time.time() - 200 * 86400, time.time() - 200 * 86400))
    old_run = Run.objects.create(status="completed", log_file=gone.name)
    Run.objects.filter(pk=old_run.pk).update(created_at=timezone.now() - timedelta(days=91))
    new_run = Run.objects.create(status="completed", log_file=keep.name)
    release = dict(content_type="series", series_id="tt1", released_at=timezone.now() - timedelta(days=100))
    UpcomingRelease.objects.create(video_id="tt1:1:1", warmed_at=timezone.now() - timedelta(days=99), **release)
    UpcomingRelease.objects.create(video_id="tt1:1:2", warmed_at=timezone.now() - timedelta(days=1), **release)
    PrefetchSettings.load()
    assert run_logs.prune_history() == (1, 2)
    assert list(Run.objects.values_list("pk", flat=True)) == [new_run.pk]
    assert list(UpcomingRelease.objects.values_list("video_id", flat=True)) == ["tt1:1:2"]
    assert keep.exists() and not gone.exists() and not stale.exists()
    monkeypatch.setattr(run_logs, "MAX_FILES", 2)
    for day in range(1, 4):
        write_log(log_dir, f"streams_prefetcher_logs_2026-11-0{day + 1}_00-00-00_run9{day}.txt", 1)
    run_logs.prune_history()
    assert len(run_logs.list_logs()) == 2


# --- the list: the API and the Logs page ---------------------------------------------------------------
def test_the_api_list_pages_with_limit_and_offset_newest_first(api, log_dir):
    names = write_logs(log_dir, 5)
    whole = api.get("/api/logs").json()  # every file by default, as the original list answered
    assert whole["success"] is True and whole["total"] == 5 and [f["filename"] for f in whole["logs"]] == names
    assert set(whole["logs"][0]) == {"filename", "size", "modified"} and whole["logs"][0]["size"] == len("line 1 hay\n")
    pages = [api.get("/api/logs", {"limit": 2, "offset": offset}).json() for offset in (0, 2, 4)]
    assert [page["total"] for page in pages] == [5, 5, 5]
    assert [[f["filename"] for f in page["logs"]] for page in pages] == [names[0:2], names[2:4], names[4:]]
    assert api.get("/api/logs", {"offset": 5}).json() == {"success": True, "total": 5, "logs": []}


@pytest.mark.parametrize("query, fields", [
    ({"limit": 0}, ["limit"]), ({"limit": 501}, ["limit"]), ({"limit": "ten"}, ["limit"]), ({"offset": -1}, ["offset"]),
    ({"limit": 0, "offset": -1}, ["limit", "offset"]),
])
def test_a_bad_limit_or_offset_of_the_list_is_a_400_naming_it(api, log_dir, query, fields):
    write_logs(log_dir, 1)
    response = api.get("/api/logs", query)
    assert response.status_code == 400
    body = response.json()
    assert body["success"] is False and sorted(body["errors"]) == fields and body["error"].startswith(f"{fields[0]}: ")


def test_the_logs_page_pages_the_files_newest_first_and_keeps_the_page_when_one_opens(user_client, log_dir):
    names = write_logs(log_dir, 55)
    first = user_client.get("/logs/")
    assert [f["filename"] for f in first.context["page"]] == names[:50]
    html = first.content.decode()
    assert '<span class="muted" id="log-count">55 files</span>' in html and "Page 1 of 2" in html
    assert 'href="?page=2"' in html and f'href="?file={names[0]}"' in html
    second = user_client.get("/logs/", {"page": 2, "file": names[50]})
    assert [f["filename"] for f in second.context["page"]] == names[50:]
    html = second.content.decode()
    assert "Page 2 of 2" in html and f'href="?page=1&amp;file={names[50]}"' in html
    assert f'href="?page=2&amp;file={names[54]}"' in html  # opening a file stays on this page of the list


def test_the_logs_page_without_files_says_so(user_client, log_dir):
    html = user_client.get("/logs/").content.decode()
    assert "No log files." in html and 'id="delete-all-logs" disabled' in html and "Page 1" not in html


@pytest.mark.browser
def test_the_logs_page_pages_opens_and_deletes_files_and_stays_consistent(guarded_page, log_dir):
    page = guarded_page
    names = write_logs(log_dir, 52)
    page.on("dialog", lambda dialog: dialog.accept())
    rows = page.locator("#log-list tbody tr")
    listed = "(rows) => rows.map((row) => row.dataset.file)"
    page.goto("/logs/")
    expect(page.locator("#log-count")).to_have_text("52 files")
    expect(rows).to_have_count(50)
    assert rows.evaluate_all(listed) == names[:50]
    page.locator(".pager a", has_text="Older").click()
    expect(page.locator(".pager")).to_contain_text("Page 2 of 2")
    expect(rows).to_have_count(2)
    assert rows.evaluate_all(listed) == names[50:]

    page.locator(f'#log-list tr[data-file="{names[51]}"] a.log-open').click()
    expect(page.locator("#log-name")).to_have_text(names[51])
    expect(page.locator("#log-content")).to_contain_text("line 1 hay")
    expect(page).to_have_url(re.compile(rf"/logs/\?page=2&file={names[51]}$"))
    page.click("#log-delete")
    expect(page.locator(".toast-success")).to_have_text(f"Deleted {names[51]}.")
    expect(page).to_have_url(re.compile(r"/logs/\?page=2$"))
    expect(page.locator("#log-viewer")).to_be_hidden()
    expect(page.locator("#log-count")).to_have_text("51 files")
    assert rows.evaluate_all(listed) == [names[50]] and not (log_dir / names[51]).exists()

    page.click("#delete-all-logs")
    expect(page.locator(".toast-success")).to_have_text("51 log files deleted.")
    expect(page).to_have_url(re.compile(r"/logs/$"))
    expect(rows).to_have_text(["No log files."])
    expect(page.locator("#delete-all-logs")).to_be_disabled()
    expect(page.locator(".pager")).to_have_count(0)
    assert not list(log_dir.glob("streams_prefetcher_logs_*"))

"""The records API: search, filters and paging (/api/records), and invalidation by ids, by a
filter or all of them (/api/records/invalidate), also past the number of variables a database
takes in one statement. Hostile input to both is in test_bad_input.py and test_hardening.py."""

import pytest
from django.utils import timezone

from addons.web.api_conventions import MAX_INT
from prefetch.models import PrefetchRecord
from tests.helpers import insert_records

pytestmark = pytest.mark.django_db(transaction=True)


def record(video_id, title, ok=True):
    now = timezone.now()
    return PrefetchRecord.objects.create(
        addon_key="k", addon_name="Peer", content_type="movie", video_id=video_id, title=title, last_attempt=now,
        last_success=now if ok else None, last_status=200 if ok else 500, last_error="" if ok else "HTTP 500",
        stream_count=3 if ok else None, latency_ms=12.5,
    )


def invalidate(client, body):
    return client.post("/api/records/invalidate", body, content_type="application/json")


def test_records_search_and_invalidate(user_client):
    one = record("tt1", "Alpha")
    record("tt2", "Beta")
    record("tt3", "Alpha Two", ok=False)
    assert user_client.get("/api/records?q=alpha").json()["total"] == 2
    assert user_client.get("/api/records?q=tt2").json()["records"][0]["title"] == "Beta"
    assert user_client.get("/api/records?status=failed").json()["total"] == 1
    page = user_client.get("/records/?q=alpha")
    assert b"Alpha Two" in page.content and b"Beta" not in page.content
    assert invalidate(user_client, {"ids": [one.pk], "all": True}).status_code == 400
    assert invalidate(user_client, {"ids": [one.pk]}).json()["invalidated"] == 1
    assert invalidate(user_client, {"filter": {"q": "alpha", "status": "failed"}}).json()["invalidated"] == 1
    assert list(PrefetchRecord.objects.values_list("video_id", flat=True)) == ["tt2"]
    assert invalidate(user_client, {"all": True}).json()["invalidated"] == 1
    assert not PrefetchRecord.objects.exists()


def test_invalidating_more_records_than_sqlite_has_variables(user_client):
    # Debian's SQLite allows 250,000 variables in one statement (stock builds 32,766; PostgreSQL 65,535).
    matching, others = 260_000, 40_000
    insert_records(matching, title="Alpha")
    insert_records(others, title="Beta", video_id="tt9{:08d}")
    filtered = invalidate(user_client, {"filter": {"q": "alpha"}})
    assert filtered.status_code == 200 and filtered.json()["invalidated"] == matching
    insert_records(matching, title="Gamma")
    everything = invalidate(user_client, {"all": True})
    assert everything.status_code == 200 and everything.json()["invalidated"] == matching + others
    assert not PrefetchRecord.objects.exists()


@pytest.mark.postgresql
def test_records_offset_and_limit_page_through_the_records(api):
    for n in range(3):
        PrefetchRecord.objects.create(addon_key="k", video_id=f"tt{n}", content_type="movie", last_attempt=timezone.now())
    page = api.get("/api/records?offset=1&limit=1").json()
    assert page["total"] == 3 and len(page["records"]) == 1
    assert api.get(f"/api/records?offset={MAX_INT}").json()["records"] == []  # the bound itself is a query


def test_records_api_filters_by_addon_and_refuses_a_bad_key(api, two_configurations_run):
    first, _ = two_configurations_run
    mine = api.get("/api/records", {"addon": first.key}).json()
    assert mine["total"] == PrefetchRecord.objects.filter(addon_key=first.key).count() > 0
    assert {r["addon_key"] for r in mine["records"]} == {first.key} and {r["state"] for r in mine["records"]} == {"ok"}
    refused = api.get("/api/records", {"addon": "nope"})
    assert refused.status_code == 400 and list(refused.json()["errors"]) == ["addon"]

"""jobs.list follows nextCursor page by page, with the same status filter."""

from __future__ import annotations

import pytest

from imagesaas import InvalidRequestError, JobListItem


def test_list_follows_cursors_over_120_jobs(client, fake):
    planted = fake.plant(120)
    got = list(client.jobs.list())
    assert len(got) == 120 and all(isinstance(j, JobListItem) for j in got)
    # Newest first, each exactly once.
    assert [j.id for j in got] == [j.id for j in reversed(planted)]
    pages = [r for r in fake.requests if r.path == "/v1/jobs"]
    assert len(pages) == 3  # 50 + 50 + 20, the API's default limit
    assert pages[0].params == []
    cursors = [dict(p.params).get("cursor") for p in pages]
    assert cursors[0] is None and cursors[1] and cursors[2] and cursors[1] != cursors[2]


def test_list_keeps_the_status_filter_on_every_page_and_sends_page_size(client, fake):
    fake.plant(70, status="SUCCEEDED")
    fake.plant(30, status="FAILED")
    fake.plant(55, status="SUCCEEDED")
    got = list(client.jobs.list(status="SUCCEEDED", page_size=40))
    assert len(got) == 125 and {j.status for j in got} == {"SUCCEEDED"}
    pages = [r for r in fake.requests if r.path == "/v1/jobs"]
    assert len(pages) == 4
    for p in pages:
        params = dict(p.params)
        assert params["status"] == "SUCCEEDED" and params["limit"] == "40"
    failed = list(client.jobs.list("FAILED"))
    assert len(failed) == 30 and failed[0].error.code == "CONTENT_BLOCKED"


def test_list_is_lazy(client, fake):
    fake.plant(120)
    it = client.jobs.list(page_size=10)
    first = [next(it) for _ in range(15)]
    assert len(first) == 15
    assert len([r for r in fake.requests if r.path == "/v1/jobs"]) == 2


def test_an_empty_listing_is_one_request(client, fake):
    assert list(client.jobs.list()) == []
    assert len(fake.requests) == 1


def test_list_page_by_hand(client, fake):
    fake.plant(120)
    page = client.jobs.list_page(limit=100)
    assert len(page.items) == 100 and page.has_more and page.next_cursor
    rest = client.jobs.list_page(limit=100, cursor=page.next_cursor)
    assert len(rest.items) == 20 and not rest.has_more and rest.next_cursor is None
    # A cursor is bound to its status filter.
    with pytest.raises(InvalidRequestError, match="cursor"):
        client.jobs.list_page("FAILED", cursor=page.next_cursor)


def test_a_repeated_cursor_stops_the_listing_instead_of_looping(client, fake):
    page = {"items": [], "hasMore": True, "nextCursor": "v1.same"}
    fake.fail_next("GET", "/v1/jobs", 200, None, body=page)
    fake.fail_next("GET", "/v1/jobs", 200, None, body=page)
    with pytest.raises(Exception, match="twice"):
        list(client.jobs.list())

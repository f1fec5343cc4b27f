"""Supabase's REST API: what goes over the wire, and the PostgREST stand-in itself."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import TYPE_CHECKING

import httpx
import pytest
from postgrest import APIError

from bot.domain import (
    Action,
    Decision,
    DecisionKind,
    DraftState,
)
from bot.store import SchemaNotApplied
from bot.store.supabase import SupabaseStore
from tests.postgrest_standin import PostgrestStandin, serving
from tests.store.helpers import (
    LEASE,
    T0,
    actions,
    approval,
    approved_draft,
    draft_reply,
    entry,
    escalated_draft,
    make_draft,
    make_escalation,
    stored_draft,
)

if TYPE_CHECKING:
    from tests.store_fixtures import RestServer

pytest_plugins = ["tests.store_fixtures"]


async def test_supabase_decision_is_one_rpc_that_writes_the_draft_and_its_log_row(
    postgrest: RestServer,
) -> None:
    standin = postgrest.standin
    rest = postgrest.open()
    try:
        await stored_draft(rest, "d-1")
        standin.requests.clear()
        won = await rest.decide(
            "d-1",
            approval(),
            messages=(draft_reply("d-1"),),
            log=entry("d-1", "draft.approved"),
        )
        after_win = list(standin.requests)
        standin.requests.clear()
        lost = await rest.decide(
            "d-1",
            approval(),
            messages=(draft_reply("d-1"),),
            log=entry("d-1", "draft.approved"),
        )
    finally:
        await rest.close()

    assert won is not None and lost is None
    [call] = after_win
    assert (call.method, call.path) == ("POST", "/rest/v1/rpc/occ_apply")
    assert call.headers["apikey"] == postgrest.key
    assert call.headers["authorization"] == f"Bearer {postgrest.key}"
    change = call.body["change"]
    assert change["first"]["kind"] == "update" and change["first"]["table"] == "drafts"
    assert {"column": "id", "op": "eq", "value": "d-1"} in change["first"]["where"]
    assert {"column": "state", "op": "eq", "value": "pending"} in change["first"]["where"]
    assert change["first"]["values"]["state"] == "approved"
    assert change["first"]["values"]["decided_by"] == "U0APPROVER"
    assert [(t["table"], t["row"]["action"]) for t in change["then"]] == [
        ("decision_log", "draft.approved"),
        ("chatwoot_outbox", "reply.sent"),  # the reply it sends, queued with it
    ]
    assert [(r.method, r.path) for r in standin.requests] == [("POST", "/rest/v1/rpc/occ_apply")]


async def test_supabase_escalation_that_fails_half_way_leaves_nothing_behind(
    postgrest: RestServer,
) -> None:
    # The draft's decision, the escalation and the log row are one transaction: if the
    # escalation cannot be written (here its id is taken) the draft is not decided either, so
    # no draft is ever marked escalated without the escalation the managers are told of.
    standin = postgrest.standin
    rest = postgrest.open()
    try:
        taken = await escalated_draft(rest, "d-taken")
        await stored_draft(rest, "d-1")
        clash = replace(make_escalation(taken.id, "d-1", due_at=T0), id=taken.id)
        decision = Decision(kind=DecisionKind.ESCALATE, actor="U0OPERATOR", at=T0)
        with pytest.raises(APIError):
            await rest.decide(
                "d-1",
                decision,
                log=entry("d-1", Action.DRAFT_ESCALATED),
                escalation=clash,
            )
        after_clash = await rest.get_draft("d-1")
        standin.fail_next("POST", "rpc/occ_apply", status=503)
        with pytest.raises(APIError):
            await rest.decide(
                "d-1",
                decision,
                log=entry("d-1", Action.DRAFT_ESCALATED),
                escalation=make_escalation("esc-new", "d-1", due_at=T0),
            )
        after_outage = await rest.get_draft("d-1")
        retried = await rest.decide(
            "d-1",
            decision,
            log=entry("d-1", Action.DRAFT_ESCALATED),
            escalation=make_escalation("esc-new", "d-1", due_at=T0),
        )
        escalation = await rest.escalation_for_draft("d-1")
        logged = await actions(rest, "d-1")
    finally:
        await rest.close()

    assert after_clash is not None and after_clash.state is DraftState.PENDING
    assert after_outage is not None and after_outage.state is DraftState.PENDING
    assert retried is not None and retried.state is DraftState.ESCALATED
    assert escalation is not None and escalation.id == "esc-new"
    assert logged == ["draft.received", "draft.escalated"]


async def test_supabase_repeat_delivery_writes_nothing_new(postgrest: RestServer) -> None:
    standin = postgrest.standin
    rest = postgrest.open()
    try:
        await rest.add_draft(make_draft("d-1", external_id="ext-1"), entry("d-1"))
        standin.requests.clear()
        returned, created = await rest.add_draft(
            make_draft("d-2", external_id="ext-1"), entry("d-2")
        )
        logged = await rest.entries()
    finally:
        await rest.close()

    assert not created and returned.id == "d-1"
    insert = standin.requests[0]
    assert (insert.method, insert.path) == ("POST", "/rest/v1/rpc/occ_apply")
    assert insert.body["change"]["first"]["kind"] == "insert"
    assert insert.body["change"]["first"]["ignore_conflict"] is True
    assert [e.subject_id for e in logged] == ["d-1"]


async def test_supabase_log_insert_is_retried_after_a_transient_error(
    postgrest: RestServer,
) -> None:
    standin = postgrest.standin
    waits: list[float] = []

    async def record_wait(seconds: float) -> None:
        waits.append(seconds)

    rest = postgrest.open(sleep=record_wait)
    try:
        await stored_draft(rest, "d-1")
        standin.fail_next("POST", "decision_log", times=2, status=503)
        refused = entry("d-1", Action.DRAFT_REFUSED)
        await rest.log(refused)
        await rest.log(refused)  # the same row again: written once
        logged = await rest.entries(subject_id="d-1")
    finally:
        await rest.close()

    assert [str(e.action) for e in logged] == ["draft.received", "draft.refused"]
    assert len(waits) == 2


async def test_supabase_post_claim_is_one_conditional_patch(postgrest: RestServer) -> None:
    standin = postgrest.standin
    rest = postgrest.open()
    try:
        escalation = await escalated_draft(rest, "d-1")
        await stored_draft(rest, "d-2")
        standin.requests.clear()
        await rest.claim_card_post("d-2", now=T0, lease_until=T0 + LEASE)
        await rest.claim_escalation_post(escalation.id, now=T0, lease_until=T0 + LEASE)
    finally:
        await rest.close()

    card_claim, message_claim = standin.requests
    assert (card_claim.method, card_claim.path) == ("PATCH", "/rest/v1/drafts")
    assert ("id", "eq.d-2") in card_claim.query
    assert ("card_channel", "is.null") in card_claim.query
    assert (
        "or",
        "(card_lease_until.is.null,card_lease_until.lt.2025-03-14T09:30:12.345678Z)",
    ) in card_claim.query
    assert card_claim.body == {"card_lease_until": "2025-03-14T09:32:12.345678+00:00"}
    assert (message_claim.method, message_claim.path) == ("PATCH", "/rest/v1/escalations")
    assert ("message_channel", "is.null") in message_claim.query
    assert (
        "or",
        "(message_lease_until.is.null,message_lease_until.lt.2025-03-14T09:30:12.345678Z)",
    ) in message_claim.query


async def test_supabase_without_schema_says_how_to_apply_it() -> None:
    standin = PostgrestStandin(api_key="key")
    with serving(standin) as url:
        rest = SupabaseStore(url, "key")
        try:
            with pytest.raises(SchemaNotApplied, match="SQL editor"):
                await rest.migrate()
        finally:
            await rest.close()


async def test_supabase_queue_summary_asks_for_counts_not_rows(postgrest: RestServer) -> None:
    standin = postgrest.standin
    rest = postgrest.open()
    try:
        for name in ("d-1", "d-2", "d-3"):
            await approved_draft(rest, name)
        await stored_draft(rest, "d-pending", at=T0 - timedelta(hours=1))
        standin.requests.clear()
        summary = await rest.queue_summary(T0)
    finally:
        await rest.close()

    assert (summary.pending, summary.replies_in_flight) == (1, 3)
    assert summary.oldest_pending_at == T0 - timedelta(hours=1)
    assert len(standin.requests) == 6
    for request in standin.requests:
        assert ("limit", "1") in request.query
    heads = [r for r in standin.requests if r.method == "HEAD"]
    [oldest] = [r for r in standin.requests if r.method == "GET"]
    assert len(heads) == 5
    assert all("count=exact" in r.headers["prefer"] for r in heads)
    assert oldest.path == "/rest/v1/drafts"
    assert ("state", "eq.pending") in oldest.query
    assert ("order", "received_at.asc") in oldest.query
    overdue = next(r for r in heads if ("state", "eq.open") in r.query)
    assert ("due_at", "lt.2025-03-14T09:30:12.345678Z") in overdue.query


async def test_postgrest_standin_answers_counts_as_postgrest_does(postgrest: RestServer) -> None:
    rest = postgrest.open()
    try:
        for name in ("d-1", "d-2", "d-3"):
            await stored_draft(rest, name)
    finally:
        await rest.close()
    auth = {"apikey": postgrest.key, "authorization": f"Bearer {postgrest.key}"}
    exact = {**auth, "prefer": "count=exact"}

    async with httpx.AsyncClient(base_url=f"{postgrest.url}/rest/v1") as http:
        page = await http.get("/drafts", params={"select": "id", "limit": "1"}, headers=exact)
        head = await http.head("/drafts", params={"select": "id", "limit": "1"}, headers=exact)
        whole = await http.get("/drafts", params={"select": "id"}, headers=exact)
        none = await http.head("/drafts", params={"id": "eq.nope"}, headers=exact)
        uncounted = await http.get("/drafts", params={"select": "id", "limit": "1"}, headers=auth)
        past_end = await http.get("/drafts", params={"offset": "5"}, headers=exact)

    assert (page.status_code, page.headers["content-range"]) == (206, "0-0/3")
    assert page.headers["preference-applied"] == "count=exact"
    assert len(page.json()) == 1
    assert (head.status_code, head.headers["content-range"], head.content) == (206, "0-0/3", b"")
    assert (whole.status_code, whole.headers["content-range"]) == (200, "0-2/3")
    assert (none.status_code, none.headers["content-range"]) == (200, "*/0")
    assert (uncounted.status_code, uncounted.headers["content-range"]) == (200, "0-0/*")
    assert past_end.status_code == 416
    assert past_end.json()["code"] == "PGRST103"
    assert past_end.json()["details"] == "An offset of 5 was requested, but there are only 3 rows."


async def test_postgrest_standin_runs_a_function_as_one_transaction(postgrest: RestServer) -> None:
    from postgrest import APIError
    from supabase import AsyncClientOptions, acreate_client

    postgrest.standin.apply_sql(
        """
        create table pairs (id text primary key, pair text not null);
        create function add_pair(pair_name text, refuse boolean default false)
        returns jsonb language plpgsql as $$
        begin
            insert into pairs (id, pair) values (pair_name || '-1', pair_name);
            insert into pairs (id, pair) values (pair_name || '-2', pair_name);
            if refuse then
                raise exception 'pair % refused', pair_name using errcode = 'OCC01';
            end if;
            return jsonb_build_object('pair', pair_name, 'rows', 2);
        end $$;
        """
    )
    http = httpx.AsyncClient()
    options = AsyncClientOptions(httpx_client=http, auto_refresh_token=False, persist_session=False)
    client = await acreate_client(postgrest.url, postgrest.key, options)
    try:
        added = await client.rpc("add_pair", {"pair_name": "kept"}).execute()
        with pytest.raises(APIError) as refused:
            await client.rpc("add_pair", {"pair_name": "gone", "refuse": True}).execute()
        stored = await client.table("pairs").select("id").order("id").execute()
    finally:
        await http.aclose()

    assert added.data == {"pair": "kept", "rows": 2}
    assert (refused.value.code, refused.value.message) == ("OCC01", "pair gone refused")
    assert [row["id"] for row in stored.data] == ["kept-1", "kept-2"]
    calls = [r for r in postgrest.standin.requests if r.path == "/rest/v1/rpc/add_pair"]
    assert [(r.method, r.body) for r in calls] == [
        ("POST", {"pair_name": "kept"}),
        ("POST", {"pair_name": "gone", "refuse": True}),
    ]

"""The database goes down while operators click: every decision is kept in the replica's
spool, the operator is told it is queued, on-call is told once, and when the database is
back every decision lands once, in order, with the time it was made; no reply twice."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

import pytest

from bot.blocks.ids import ActionId
from bot.domain import DecisionKind, DraftState
from bot.flows import spooled
from tests.harness import OPERATOR, SECOND_OPERATOR, BotUnderTest, ask_occ, settings_for
from tests.tcp_proxy import TcpProxy

RELIABILITY = "#occ-reliability"


@pytest.fixture
async def proxy() -> AsyncIterator[TcpProxy]:
    async with TcpProxy("127.0.0.1", 5432) as running:
        yield running


@pytest.fixture
async def bot(postgres_url, proxy, slack, chatwoot, clock, tmp_path) -> AsyncIterator[BotUnderTest]:
    host, name = postgres_url.rsplit("/", 1)
    through_proxy = f"{host.rsplit(':', 1)[0]}:{proxy.port}/{name}"
    settings = settings_for(through_proxy, slack, chatwoot, OCC_SPOOL_DIR=str(tmp_path / "spool"))
    instance = await BotUnderTest(settings, clock).start()
    try:
        yield instance
    finally:
        proxy.restore()
        await instance.stop()


async def test_decisions_made_while_the_database_is_down_land_once_in_order(
    bot, proxy, slack, chatwoot, clock, scenarios
):
    payload = scenarios["demo-1-order-status"].payload
    first, second, third = [
        await bot.posted_draft(payload | {"external_id": f"x{n}", "conversation_id": 600 + n})
        for n in range(3)
    ]
    proxy.cut()
    clicked_at = clock.now
    await bot.click(ActionId.APPROVE, first, OPERATOR)
    await bot.settle()
    await bot.click(ActionId.APPROVE, first, SECOND_OPERATOR)  # too late, as it will turn out
    await bot.settle()
    await bot.submit_edit(second.id, OPERATOR, "Hi! Your order shipped today.")
    await bot.settle()
    await bot.submit_reject(third.id, OPERATOR, "wrong_tone", "too casual")
    await bot.settle()

    assert len(bot.services.spool) == 4
    queued = [m["text"] for m in slack.ephemerals()] + [
        m["text"] for m in slack.messages_in(OPERATOR)
    ]
    assert sum("is *queued*" in text for text in queued) == 4
    [down] = [m["text"] for m in slack.messages_in(RELIABILITY)]
    assert "*database* is unreachable" in down and "`occ-bot check`" in down
    assert chatwoot.sent_replies(600) == [] and chatwoot.sent_replies(601) == []

    clock.advance(minutes=10)
    assert await spooled.replay(bot.services) == 0  # still down: kept, in order
    assert len(bot.services.spool) == 4
    proxy.restore()
    kept = bot.services.spool.records()
    assert await spooled.replay(bot.services) == 4
    await bot.settle()

    approved = await bot.store.get_draft(first.id)
    assert approved.state is DraftState.APPROVED and approved.decision.actor == OPERATOR
    assert approved.decision.at == clicked_at  # when the operator clicked, not the replay
    edited = await bot.store.get_draft(second.id)
    assert edited.decision.kind is DecisionKind.EDIT
    assert (await bot.store.get_draft(third.id)).state is DraftState.REJECTED
    assert [r["content"] for r in chatwoot.sent_replies(601)] == ["Hi! Your order shipped today."]
    assert len(chatwoot.sent_replies(600)) == 1
    [refused] = [
        e for e in await bot.store.entries(subject_id=first.id) if e.actor == SECOND_OPERATOR
    ]
    assert refused.action == "draft.refused"
    assert len(bot.services.spool) == 0
    back = slack.messages_in(RELIABILITY)[-1]["text"]
    assert "reachable again" in back and "4 queued decision(s)" in back
    logged = [e.action for e in await bot.store.entries(subject_id="database")]
    assert logged == ["reliability.alert", "reliability.recovered"]

    # A crash between applying a record and removing it replays it: nothing happens twice,
    # and nobody is told anything (no "already decided", no refused row).
    told = len(slack.ephemerals()) + len(slack.messages_in(OPERATOR))
    refusals = [e for e in await bot.store.entries() if e.action == "draft.refused"]
    for record in kept[:1] + kept[2:3]:
        bot.services.spool.append(record)
    assert await spooled.replay(bot.services) == 2
    await bot.settle()
    assert len(chatwoot.sent_replies(600)) == 1 and len(chatwoot.sent_replies(601)) == 1
    assert len(slack.ephemerals()) + len(slack.messages_in(OPERATOR)) == told
    assert [e for e in await bot.store.entries() if e.action == "draft.refused"] == refusals
    decisions = [
        e.action
        for e in await bot.store.entries()
        if e.action in ("draft.approved", "draft.edited")
    ]
    assert sorted(decisions) == ["draft.approved", "draft.edited"]


async def test_the_spool_outlives_its_replica_and_the_next_one_applies_it(
    bot, proxy, slack, chatwoot, clock, scenarios, tmp_path
):
    draft = await bot.posted_draft(scenarios["demo-1-order-status"].payload)
    proxy.cut()
    await bot.click(ActionId.APPROVE, draft, OPERATOR)
    await bot.settle()
    [spool_file] = (tmp_path / "spool").glob("*.jsonl")
    [record] = [json.loads(line) for line in spool_file.read_text().splitlines()]
    assert (record["kind"], record["draft_id"], record["user"]) == ("approve", draft.id, OPERATOR)

    await bot.stop()  # the replica goes away with the decision still queued
    proxy.restore()
    successor = await BotUnderTest(bot.settings, clock).start()
    try:
        assert await spooled.replay(successor.services) == 1
        await successor.settle()
        assert (await successor.store.get_draft(draft.id)).state is DraftState.APPROVED
        assert len(chatwoot.sent_replies(draft.input.conversation_id)) == 1
        assert list((tmp_path / "spool").glob("*.jsonl")) == [successor.services.spool.path]
    finally:
        await successor.stop()


async def test_a_log_row_written_while_the_database_is_down_lands_once_it_is_back(
    bot, proxy, slack, clock
):
    from bot import decision_log
    from bot.domain import Action, Outcome, Scope
    from bot.flows import database_down

    entry = decision_log.entry(
        bot.services,
        Action.SALES_REFUSED,
        subject_id="sa_x",
        conversation_id=None,
        payload={"response": "acknowledged"},
        actor=OPERATOR,
        outcome=Outcome.REFUSED,
        scope=Scope.SALES,
    )
    proxy.cut()
    await database_down.keep(bot.services, entry)
    assert [r["id"] for r in bot.services.spool.records()] == [entry.id]
    proxy.restore()
    assert await spooled.replay(bot.services) == 1
    assert await spooled.replay(bot.services) == 0
    [stored] = await bot.store.entries(subject_id="sa_x")
    assert stored == entry


async def test_a_claim_while_the_database_is_down_is_refused_and_said_so(
    bot, proxy, slack, scenarios
):
    from tests.harness import MANAGER

    draft = await bot.posted_draft(scenarios["demo-3-triple-charge"].payload)
    await bot.submit_escalation(draft.id, OPERATOR, type="high_value", urgency="urgent", notes="x")
    await bot.settle()
    escalated = await bot.store.get_draft(draft.id)
    escalation = await bot.store.get_escalation(escalated.decision.escalation_id)
    proxy.cut()
    await bot.click_escalation(ActionId.CLAIM, escalation, MANAGER)
    await bot.settle()
    [told] = slack.ephemerals(MANAGER)
    assert "claim was not recorded" in told["text"]
    assert "*database* is unreachable" in slack.messages_in(RELIABILITY)[-1]["text"]
    proxy.restore()
    assert await spooled.replay(bot.services) == 0  # nothing was queued, but it is back:
    assert "reachable again" in slack.messages_in(RELIABILITY)[-1]["text"]
    assert bot.services.database_down is None  # so a later outage is alerted again
    await bot.click_escalation(ActionId.CLAIM, escalation, MANAGER)
    await bot.settle()
    assert (await bot.store.get_escalation(escalation.id)).claimed_by == MANAGER


async def test_two_replicas_losing_the_database_alert_once_and_recover_once(
    bot, proxy, slack, chatwoot, clock, scenarios, tmp_path
):
    settings = bot.settings.model_copy(update={"spool_dir": str(tmp_path / "other-spool")})
    other = await BotUnderTest(settings, clock).start()
    try:
        payload = scenarios["demo-1-order-status"].payload
        drafts = [
            await bot.posted_draft(payload | {"external_id": f"r{n}", "conversation_id": 700 + n})
            for n in range(2)
        ]
        proxy.cut()
        for replica, draft in zip((bot, other), drafts, strict=True):
            await replica.click(ActionId.APPROVE, draft, OPERATOR)
            await replica.settle()
        proxy.restore()
        for replica in (bot, other):
            assert await spooled.replay(replica.services) == 1
            await replica.settle()
        for draft in drafts:
            assert len(chatwoot.sent_replies(draft.input.conversation_id)) == 1
    finally:
        await other.stop()
    down, back = [m["text"] for m in slack.messages_in(RELIABILITY)]
    assert "*database* is unreachable" in down and "reachable again" in back


def test_a_command_that_never_spools_leaves_nothing_on_disk(tmp_path):
    from tests.commands.test_cli import occ_bot

    ran = occ_bot(
        "jobs",
        "run",
        "outbox",
        env={"DATABASE_URL": f"sqlite:///{tmp_path}/occ.db"},
        cwd=tmp_path,
    )
    assert ran.returncode == 0, ran.stderr[-2000:]
    assert not (tmp_path / "occ-spool").exists()


async def test_a_slash_command_while_the_database_is_down_says_so_and_changes_nothing(
    bot, proxy, slack
):
    proxy.cut()
    stats = await ask_occ(bot, slack, "stats week")
    training = await ask_occ(bot, slack, "training start")

    for answer in (stats, training):
        assert answer["response_type"] == "ephemeral"
        assert "database cannot be reached" in answer["text"]
    [down] = [m["text"] for m in slack.messages_in(RELIABILITY)]
    assert "*database* is unreachable" in down
    assert slack.messages_in("#occ-training") == []


async def test_a_slow_database_still_opens_the_form_the_operator_clicked_for(
    bot, proxy, slack, scenarios
):
    """A click's trigger_id opens a modal only within 3 s: the form opens as Loading at once
    and is filled in when the draft has been read."""
    from bot.blocks.ids import CallbackId
    from tests.harness import real_block_action

    draft = await bot.posted_draft(scenarios["demo-1-order-status"].payload)
    proxy.delay = 3.2  # every answer from PostgreSQL, from now on
    click = real_block_action(
        user=OPERATOR,
        action_id=ActionId.EDIT.value,
        value=draft.id,
        channel=draft.card.channel,
        message_ts=draft.card.ts,
        trigger_id=slack.trigger(),  # issued now: it expires 3 s from now
    )
    await bot.slack.send(click)
    await bot.settle()
    proxy.delay = 0

    [opened] = slack.calls("views.open")
    assert opened.ok and "Loading" in str(opened.args["view"])
    [filled] = slack.calls("views.update")
    assert filled.ok and filled.args["view"]["callback_id"] == CallbackId.EDIT.value
    assert draft.input.draft in str(filled.args["view"])
    assert slack.ephemerals(OPERATOR) == []  # no "Slack would not open the form"


SECRET = "Susan's card ends 4242, call me at 555-0199"


async def test_a_database_error_never_carries_the_statements_values(postgres_url):
    """SQLAlchemy puts a failed statement's parameters in the error's text by default; that
    text reaches logs and #occ-reliability (issue 18, finding 5)."""
    from bot.store.ops import Query, eq
    from bot.store.sql import SqlDatabase

    database = SqlDatabase.from_url(postgres_url)
    try:
        with pytest.raises(Exception) as caught:  # a bigint column compared with text
            await database.select(Query("decision_log", (eq("conversation_id", SECRET),)))
    finally:
        await database.close()
    assert "4242" not in str(caught.value) and "555-0199" not in str(caught.value)


async def test_the_database_alert_says_the_errors_first_line_and_no_statement(
    bot, proxy, slack, scenarios
):
    import sqlalchemy.exc

    from bot.flows import database_down

    error = sqlalchemy.exc.OperationalError(
        "UPDATE drafts SET decision_text=%(text)s", {"text": SECRET}, ConnectionError("lost")
    )
    await database_down.alert(bot.services, error)

    [alert] = [m["text"] for m in slack.messages_in(RELIABILITY) if "database" in m["text"]]
    assert "OperationalError: (builtins.ConnectionError) lost" in alert
    assert "4242" not in alert and "UPDATE drafts" not in alert


async def test_healthz_says_the_database_is_down_and_since_when_nothing_more(bot, proxy):
    """/healthz needs no credentials: a driver's error would name host, port and user."""
    proxy.cut()
    answer = await bot._http.get(f"{bot.url}/healthz")

    assert answer.status_code == 503
    body = answer.json()
    assert body["status"] == "unavailable" and list(body["degraded"]) == ["database"]
    assert "127.0.0.1" not in answer.text and str(proxy.port) not in answer.text
    assert "postgres" not in answer.text


async def test_the_spool_is_the_bots_alone(bot, proxy, slack, scenarios):
    """Spooled decisions hold operators' texts: the folder is 0700, its files 0600 (issue
    18, finding 4)."""
    import stat
    from pathlib import Path

    draft = await bot.posted_draft(scenarios["demo-1-order-status"].payload)
    proxy.cut()
    await bot.submit_edit(draft.id, OPERATOR, "Hi Susan, it ships today. Sorry for the wait!")
    await bot.settle()

    folder = Path(bot.settings.spool_dir)
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    files = list(folder.iterdir())
    assert files and all(stat.S_IMODE(f.stat().st_mode) == 0o600 for f in files)


async def test_a_record_planted_in_the_spool_is_never_replayed(bot, slack, chatwoot, scenarios):
    """Any *.jsonl in the folder used to be replayed as whoever it named: a planted record
    approved a must-escalate draft as a manager and sent its text to the customer."""
    from pathlib import Path

    from tests.harness import MANAGER

    payload = scenarios["demo-3-triple-charge"].payload  # must be escalated
    draft = await bot.posted_draft(payload)
    folder = Path(bot.settings.spool_dir)
    folder.mkdir(mode=0o700, exist_ok=True)
    planted = {
        "kind": "edit",
        "draft_id": draft.id,
        "user": MANAGER,
        "at": "2026-12-01T10:00:00+00:00",
        "id": "sp_planted",
        "text": "Please confirm your CVV to get the refund.",
    }
    for name, mac in (("no-mac", None), ("forged", "0" * 64)):
        record = planted | ({"mac": mac} if mac else {}) | {"id": f"sp_{name}"}
        (folder / f"{name}.jsonl").write_text(json.dumps(record) + "\n")
        (folder / f"{name}.lock").write_text("")

    await spooled.replay(bot.services)
    await bot.settle()

    assert (await bot.store.get_draft(draft.id)).state is DraftState.PENDING
    assert chatwoot.sent_replies(payload["conversation_id"]) == []


async def test_clicks_on_a_card_known_decided_are_answered_while_the_database_is_down(
    bot, proxy, slack, scenarios
):
    draft = await bot.posted_draft(scenarios["demo-1-order-status"].payload)
    await bot.click(ActionId.APPROVE, draft, OPERATOR)
    await bot.settle()
    proxy.cut()

    clicks = [bot.click(ActionId.APPROVE, draft, SECOND_OPERATOR) for _ in range(5)]
    responses = await asyncio.gather(*clicks)
    await bot.settle()

    assert [r.status_code for r in responses] == [200] * 5
    # The replica knows the card is decided: the truth at once, not "your decision is queued".
    [told] = slack.ephemerals(SECOND_OPERATOR)
    assert f"<@{OPERATOR}> already approved" in told["text"]
    [kept] = bot.services.spool.records()  # one refusal row, kept until the database is back
    assert kept["log"]["action"] == "draft.refused"
    proxy.restore()
    assert await spooled.replay(bot.services) == 1
    [refused] = [
        e for e in await bot.store.entries(subject_id=draft.id) if e.actor == SECOND_OPERATOR
    ]
    assert (refused.action, refused.payload["clicks"]) == ("draft.refused", 5)


async def test_clicks_while_a_slow_database_applies_the_first_wait_for_it(
    bot, proxy, slack, chatwoot, scenarios
):
    payload = scenarios["demo-1-order-status"].payload
    draft = await bot.posted_draft(payload)
    proxy.delay = 2  # the first click's decision takes seconds: the others arrive meanwhile
    first = await bot.click(ActionId.APPROVE, draft, OPERATOR)
    again = [bot.click(ActionId.APPROVE, draft, SECOND_OPERATOR) for _ in range(10)]
    responses = [first, *await asyncio.gather(*again)]

    # Only the first click is being applied; the others wait for its outcome rather than
    # each reading the database behind it.
    assert bot.services.background.pending == 1
    proxy.delay = 0
    await bot.settle()

    assert [r.status_code for r in responses] == [200] * 11
    assert len(chatwoot.sent_replies(payload["conversation_id"])) == 1
    [refused] = [e for e in await bot.store.entries(subject_id=draft.id) if e.outcome == "refused"]
    assert (refused.actor, refused.payload["clicks"]) == (SECOND_OPERATOR, 10)
    assert len(slack.ephemerals(SECOND_OPERATOR)) == 1

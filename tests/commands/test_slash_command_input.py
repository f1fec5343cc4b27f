"""What someone types after `/occ` is shown back escaped: no pings, no disguised links."""

from __future__ import annotations

from tests.harness import OPERATOR, BotUnderTest, real_slash_command


async def test_an_unknown_subcommand_is_quoted_back_harmlessly(bot: BotUnderTest, slack) -> None:
    body = real_slash_command(
        user=OPERATOR,
        command="/occ",
        text="<!here> <http://x.io|a>",
        channel="C0APPROVALS",
        response_url=slack.response_url("occ"),
    )

    response = await bot.slack.send(body)
    await bot.settle()

    assert response.status_code == 200
    text = slack.last("response_url").args["text"]
    assert "I don't know `&lt;!here&gt;`" in text  # the subcommand, the first word
    assert "<!here>" not in text and "<http://x.io" not in text

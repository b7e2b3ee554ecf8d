"""bot.desk.directory's workspace address: asked of auth.test once, cached; a failure falls back to
slack.com and is asked again only after a while (never once per link)."""

from __future__ import annotations

from slack_sdk.errors import SlackApiError
from slack_sdk.web import SlackResponse

from bot.desk.directory import Directory, StaticDirectory
from bot.slack.blocks.links import SLACK_WEB


class Client:
    def __init__(self, *answers) -> None:
        self.answers = list(answers)
        self.calls = 0

    def auth_test(self):
        self.calls += 1
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer


def slack_error(code: str) -> SlackApiError:
    resp = SlackResponse(client=None, http_verb="POST", api_url="auth.test", req_args={},
                         data={"ok": False, "error": code}, headers={}, status_code=200)
    return SlackApiError(code, resp)


def test_the_workspace_address_is_asked_once():
    client = Client({"ok": True, "url": "https://acme.slack.com/"})
    d = Directory(client, clock=lambda: 0.0)
    assert [d.workspace_url() for _ in range(3)] == ["https://acme.slack.com"] * 3
    assert client.calls == 1


def test_a_failure_falls_back_and_is_retried_after_a_while():
    now = [0.0]
    client = Client(slack_error("invalid_auth"), TimeoutError(), {"url": "https://x.slack.com"})
    d = Directory(client, clock=lambda: now[0], retry_after_error=60)
    assert d.workspace_url() == SLACK_WEB and d.workspace_url() == SLACK_WEB
    assert client.calls == 1  # not asked again within the minute
    now[0] = 61
    assert d.workspace_url() == SLACK_WEB and client.calls == 2  # a timeout: still slack.com
    now[0] = 122
    assert d.workspace_url() == "https://x.slack.com" and client.calls == 3


def test_an_unusable_address_is_not_used():
    d = Directory(Client({"url": "https://acme.slack.com/a|b"}), clock=lambda: 0.0)
    assert d.workspace_url() == SLACK_WEB


def test_static_directory_has_a_fixed_address():
    assert StaticDirectory().workspace_url() == SLACK_WEB
    assert StaticDirectory(workspace="https://t.slack.com").workspace_url() == \
        "https://t.slack.com"

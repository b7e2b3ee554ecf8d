"""`#name` channels in the rules → ids, with a fake of slack_sdk's `conversations_list`."""

from __future__ import annotations

import logging

import pytest
import yaml
from slack_sdk.errors import SlackApiError
from slack_sdk.web import SlackResponse

from bot.domain.rules.load import Rules, parse_rules
from bot.slack.channels import ChannelNotFound, resolve_channels
from tests.support.paths import ROOT

log = logging.getLogger("test_slack_channels")


class FakeClient:
    """`conversations_list` answering like slack_sdk: pages of `channels` chained by
    `response_metadata.next_cursor`, or `SlackApiError` with Slack's error body."""

    def __init__(self, pages: list[list[dict]] | None = None, error: dict | None = None) -> None:
        self.pages = pages or [[]]
        self.error = error
        self.calls: list[dict] = []

    def conversations_list(self, **params: object) -> dict:
        self.calls.append(params)
        if self.error is not None:
            raise SlackApiError(f"The request to the Slack API failed. {self.error}",
                                SlackResponse(client=None, http_verb="POST",
                                              api_url="https://slack.com/api/conversations.list",
                                              req_args={}, data={"ok": False, **self.error},
                                              headers={}, status_code=200))
        page = int(params.get("cursor") or 0)
        more = page + 1 < len(self.pages)
        return {"ok": True, "channels": self.pages[page],
                "response_metadata": {"next_cursor": f"{page + 1}" if more else ""}}


def channel(cid: str, name: str, **extra: object) -> dict:
    return {"id": cid, "name": name, "name_normalized": name, "is_channel": True, **extra}


def rules_with(care: str = "C0CARE00001", pr: str = "C0PRESS0001", weekly: str = "C0EXEC00001",
               spike: str = "C0PRESS0001") -> Rules:
    data = yaml.safe_load((ROOT / "routing_rules.yaml").read_text())
    data["teams"]["care"]["channel"] = care
    data["teams"]["pr"]["channel"] = pr
    data["reports"]["weekly"]["channel"] = weekly
    data["alerts"]["spike"]["channel"] = spike
    return parse_rules(yaml.safe_dump(data, sort_keys=False), "rules.yaml")


def test_ids_only_make_no_slack_call():
    rules = rules_with()
    client = FakeClient()
    assert resolve_channels(rules, client, logger=log) is rules
    assert client.calls == []


def test_names_are_resolved_across_pages_with_one_listing(caplog):
    rules = rules_with(care="#social-care", pr="#press", spike="#press", weekly="#exec-weekly")
    client = FakeClient([
        [channel("C0OTHER0001", "general"), channel("C0CARE99999", "social-care")],
        [channel("G0PRIVPRESS", "press", is_private=True),
         channel("C0EXEC99999", "exec-weekly")],
    ])
    with caplog.at_level(logging.INFO, logger=log.name):
        resolved = resolve_channels(rules, client, logger=log)

    assert resolved.teams["care"].channel == "C0CARE99999"
    assert resolved.teams["pr"].channel == "G0PRIVPRESS"
    assert resolved.teams["baggage"].channel == "C0BAGGAGE01"  # ids are kept as they are
    assert resolved.reports.weekly.channel == "C0EXEC99999"
    assert resolved.alerts.spike.channel == "G0PRIVPRESS"
    # Everything else is the same rules; the input is untouched (the models are frozen).
    assert resolved.teams["care"].approvers == rules.teams["care"].approvers
    assert resolved.rules == rules.rules and resolved.reports.weekly.at == rules.reports.weekly.at
    assert rules.teams["care"].channel == "#social-care"
    # One listing, paged by cursor, for every name at once.
    assert [c.get("cursor") for c in client.calls] == [None, "1"]
    assert all(c["types"] == "public_channel,private_channel" and c["exclude_archived"] is True
               and c["limit"] == 1000 for c in client.calls)
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 1 and "#social-care → C0CARE99999" in lines[0] \
        and "#press → G0PRIVPRESS" in lines[0]


def test_the_listing_stops_once_every_name_is_found():
    client = FakeClient([[channel("C0CARE99999", "social-care")],
                         [channel("C0NEVER0001", "never-read")]])
    resolved = resolve_channels(rules_with(care="#social-care"), client, logger=log)
    assert resolved.teams["care"].channel == "C0CARE99999"
    assert len(client.calls) == 1


def test_missing_names_are_listed_with_the_keys_that_use_them():
    rules = rules_with(care="#social-care", pr="#press", spike="#press", weekly="#exec")
    client = FakeClient([[channel("C0EXEC99999", "exec")], [channel("C0OTHER0001", "general")]])
    with pytest.raises(ChannelNotFound) as exc:
        resolve_channels(rules, client, logger=log)
    message = str(exc.value)
    assert "\n" not in message
    assert ("teams.care.channel: #social-care not found (is the bot invited? private channels "
            "need it)") in message
    assert "teams.pr.channel: #press not found" in message
    assert "alerts.spike.channel: #press not found" in message
    assert "exec" not in message  # found
    assert len(client.calls) == 2  # the whole listing was read before giving up


def test_missing_scope_names_slacks_error_and_the_scope_to_add():
    client = FakeClient(error={"error": "missing_scope", "needed": "groups:read",
                               "provided": "chat:write,channels:read"})
    with pytest.raises(ChannelNotFound) as exc:
        resolve_channels(rules_with(pr="#press"), client, logger=log)
    message = str(exc.value)
    assert "missing_scope" in message and "add the bot scope groups:read" in message
    assert "slack_manifest.yaml" in message and "\n" not in message


def test_other_slack_errors_name_the_error_and_the_scopes_needed():
    client = FakeClient(error={"error": "invalid_auth"})
    with pytest.raises(ChannelNotFound) as exc:
        resolve_channels(rules_with(pr="#press"), client, logger=log)
    assert "invalid_auth" in str(exc.value)
    assert "channels:read and groups:read" in str(exc.value)

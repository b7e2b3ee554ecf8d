"""Clicking through the desk over signed HTTP as a person does, for the e2e journeys: a fake
Slack that also opens modals and lists user-group members (`DeskSlack`), and reading and
clicking what it received (`calls`, `wait_calls`, `blocks_of`, `click`, `submit_view`,
`latest_card`), and the steps of a journey (`one_card`, `draft_and_approve`)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from urllib.parse import urlencode

import pytest

from tests.support.fake_slack import FakeSlack

FORM = "application/x-www-form-urlencoded"
AGENT, LEAD = "U0AGENT01", "U0LEAD001"


class DeskSlack(FakeSlack):
    """The fake plus what the desk asks of Slack: modals and user-group members."""

    opened: list[dict]

    def answer(self, method: str, params: dict) -> dict:
        if method == "views.open":
            view = params["view"] if isinstance(params["view"], dict) else json.loads(
                params["view"])
            self.opened.append(view)
            return {"ok": True, "view": {**view, "id": f"V{len(self.opened)}"}}
        if method == "usergroups.users.list":
            return {"ok": True, "users": [LEAD, AGENT]}
        return super().answer(method, params)



@pytest.fixture(name="fake_slack")
def desk_fake_slack() -> Iterator[DeskSlack]:
    """`fake_slack` for a module that walks the desk: the fake that keeps the modals opened.
    Import it into the test module to use it in place of the plain fake."""
    fake = DeskSlack()
    fake.opened = []
    fake.start()
    yield fake
    fake.stop()

def calls(fake: FakeSlack, method: str) -> list:
    return [c for c in fake.calls if c.method == method]


def wait_calls(fake: FakeSlack, method: str, n: int, timeout: float = 10.0) -> list:
    fake.wait_until(lambda: len(calls(fake, method)) >= n, timeout=timeout)
    found = calls(fake, method)
    assert len(found) >= n, f"{len(found)} {method} calls, wanted {n}: " \
                            f"{[c.method for c in fake.calls]}"
    return found


def blocks_of(call) -> list[dict]:
    b = call.params.get("blocks")
    return json.loads(b) if isinstance(b, str) else b


def element(blocks: list[dict], action_id: str) -> dict:
    for block in blocks:
        for el in block.get("elements", []) + ([block["accessory"]] if "accessory" in block
                                               else []):
            if el.get("action_id") == action_id:
                return el
    raise AssertionError(f"no {action_id!r} on the card: "
                         f"{[e.get('action_id') for b in blocks for e in b.get('elements', [])]}")


def channel_of(fake: FakeSlack, el: dict) -> str:
    """The channel of the newest message the bot posted or updated that carries `el`: where a
    person sees the button, so where Slack says it was clicked (the bot refuses a card's
    button clicked elsewhere)."""
    wanted = json.dumps(el, sort_keys=True)
    for c in reversed(calls(fake, "chat.postMessage") + calls(fake, "chat.update")):
        if any(json.dumps(e, sort_keys=True) == wanted for b in blocks_of(c) or []
               for e in b.get("elements", []) + ([b["accessory"]] if "accessory" in b else [])):
            return str(c.params["channel"])
    return "C0PRESS0001"


def click(bot, fake, user: str, blocks: list[dict], action_id: str, option: str | None = None):
    el = element(blocks, action_id)
    channel = channel_of(fake, el)
    action = {"action_id": action_id, "block_id": "b", "type": el["type"]}
    if el["type"] in ("static_select", "overflow"):
        action["selected_option"] = next(o for o in el["options"] if option in o["value"])
    else:
        action["value"] = el["value"]
    payload = {"type": "block_actions", "user": {"id": user}, "team": {"id": "T111"},
               "api_app_id": "A111", "channel": {"id": channel},
               "container": {"type": "message", "channel_id": channel},
               "trigger_id": f"trigger-{action_id}", "actions": [action],
               "response_url": fake.url + "respond/T111/1/x", "message": {"ts": "1"}}
    resp = bot.post("/slack/events", urlencode({"payload": json.dumps(payload)}),
                    content_type=FORM)
    assert resp.status == 200, (action_id, resp.body)


def submit_view(bot, user: str, view: dict, values: dict) -> None:
    payload = {"type": "view_submission", "user": {"id": user}, "team": {"id": "T111"},
               "api_app_id": "A111", "trigger_id": "t",
               "view": {**view, "id": "V1", "state": {"values": values}}}
    resp = bot.post("/slack/events", urlencode({"payload": json.dumps(payload)}),
                    content_type=FORM)
    assert resp.status == 200, resp.body


def latest_card(fake: FakeSlack, n_updates: int) -> list[dict]:
    return blocks_of(wait_calls(fake, "chat.update", n_updates)[n_updates - 1])


def one_card(fake: FakeSlack, marker: str) -> dict:
    """The card posted for the mention whose text or author holds `marker`: exactly one."""
    fake.wait_until(lambda: [c for c in calls(fake, "chat.postMessage")
                             if marker in str(c.params)], timeout=15)
    cards = [c for c in calls(fake, "chat.postMessage") if marker in str(c.params)]
    assert len(cards) == 1, f"{len(cards)} cards for {marker!r}"
    return cards[0]


def draft_and_approve(bot, fake: DeskSlack, card, reply: str, *, limit: str) -> list[dict]:
    """Claim, draft (one character over the network's limit first: refused in the modal,
    whose limit line reads `limit`), submit and approve where the team asks for approval:
    the blocks of the card that can be sent."""
    click(bot, fake, AGENT, blocks_of(card), "claim")
    click(bot, fake, AGENT, latest_card(fake, 1), "draft")
    fake.wait_until(lambda: fake.opened, timeout=10)
    modal = fake.opened[-1]
    assert limit in json.dumps(modal).replace(",", ""), "the modal shows the network's limit"
    box = next(b for b in modal["blocks"] if b.get("block_id", "").startswith("draft_text"))
    too_long = "x" * (int(limit.split()[0]) + 1)
    for text in (too_long, reply):
        submit_view(bot, AGENT, modal, {box["block_id"]: {"draft_text": {
            "type": "plain_text_input", "value": text}}})
    drafted = latest_card(fake, 2)
    if "submit" not in json.dumps(drafted):  # this team sends without approval
        return drafted
    click(bot, fake, AGENT, drafted, "submit")
    click(bot, fake, LEAD, latest_card(fake, 3), "approve")
    return latest_card(fake, 4)

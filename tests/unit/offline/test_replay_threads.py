"""`replay --json` threads over the whole input in flat memory: a follow-up answering a post
from far earlier in the file (long since spilled out of memory) is still a follow-up in that
post's conversation; strangers stay context, the brand's own posts never start one."""

from __future__ import annotations

import io
import json

from bot.domain.conversation import flag_by_brand
from bot.domain.mention import Author, Mention
from bot.domain.rules.load import load_rules
from bot.offline.replay.run import run
from bot.offline.replay.threads import Threads
from tests.support.paths import ROOT


def toot(pid: int, handle: str, reply_to: int | None = None, *, root: int | None = None,
         network: str = "mastodon") -> Mention:
    return Mention(network=network, external_id=str(pid), text="@northwind hello",
                   author=Author(handle=handle), mentions_brand=True,
                   in_reply_to_id=str(reply_to) if reply_to else None,
                   conversation_id=str(root) if root else None)


def test_a_follow_up_finds_its_card_long_after_the_card_left_memory():
    threads = Threads(recent=4)
    placed = [threads.place(toot(1, "bagless"))]
    placed.append(threads.place(flag_by_brand(toot(2, "northwind", 1))))  # the brand answers
    for i in range(100, 150):  # fifty unrelated customers: the card is spilled 12 times over
        placed.append(threads.place(toot(i, f"someone{i}")))
    answer = threads.place(toot(3, "someone_else", 1))  # a stranger under the customer
    again = threads.place(toot(4, "Bagless", 2))  # the customer answers the brand's post
    later = threads.place(toot(5, "bagless", 4))  # … and again, under their own
    x_root = threads.place(toot(6, "bagless", 999, root=1, network="x"))  # other network
    threads.close()
    assert placed[0].conversation_id == "1" and not placed[0].follow_up
    assert all(p.conversation_id == str(i) for p, i in zip(placed[2:], range(100, 150),
                                                            strict=True))
    assert (answer.conversation_id, answer.follow_up) == ("1", False)
    assert (again.conversation_id, again.follow_up) == ("1", True)
    assert (later.conversation_id, later.follow_up) == ("1", True)
    assert x_root.conversation_id == "6"  # ids are per network: X's 1 is no card here
    assert threads.spilled >= 48 and threads.held < 4  # memory holds at most `recent`


def test_replay_threads_a_follow_up_coming_thousands_of_posts_after_its_card(tmp_path):
    """The old replay remembered the last 500 posts: this follow-up, 1,200 posts later, was
    a card of its own."""
    lines = [{"id": "1", "network": "mastodon", "author": {"username": "bagless"},
              "text": "@northwind my bag is lost"}]
    lines += [{"id": str(10 + i), "network": "mastodon", "author": {"username": f"c{i}"},
               "text": f"@northwind lovely flight {i}"} for i in range(1200)]
    lines.append({"id": "2", "network": "mastodon", "author": {"username": "bagless"},
                  "text": "@northwind a week later, still nothing", "in_reply_to_id": "1"})
    path = tmp_path / "year.jsonl"
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    out, err = io.StringIO(), io.StringIO()
    assert run(str(path), load_rules(ROOT / "routing_rules.yaml"), as_json=True, out=out,
               err=err, progress=False) == 0, err.getvalue()
    last = json.loads(out.getvalue().splitlines()[-1])
    assert (last["id"], last["conversation_id"], last["follow_up"]) == ("2", "1", True)

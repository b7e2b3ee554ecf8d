"""Untrusted text is inert in mrkdwn, and truncation never cuts an entity in half."""

from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st

from bot.blocks import escape_mrkdwn, help_blocks, truncate_escaped

HOSTILE = "<!channel> <!here> <@U123> <#C123> <http://evil.example|your bank> & &amp;"


def test_hostile_sequences_are_inert():
    out = escape_mrkdwn(HOSTILE)
    assert "<" not in out and ">" not in out
    assert out.startswith("&lt;!channel&gt; &lt;!here&gt; &lt;@U123&gt;")
    assert out.endswith("&amp; &amp;amp;")  # an existing entity is shown, not interpreted


@given(st.text())
def test_escaped_text_has_no_control_brackets_and_unescapes_back(text):
    out = escape_mrkdwn(text)
    assert "<" not in out and ">" not in out
    assert out.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&") == text


@given(st.text(alphabet=st.sampled_from("a<>&! "), max_size=300), st.integers(5, 200))
def test_truncation_respects_limit_and_entities(text, limit):
    out = truncate_escaped(text, limit)
    assert len(out) <= limit
    body = out.removesuffix("…")
    # every & starts a complete entity
    assert all(re.match(r"&(amp|lt|gt);", body[i:]) for i, ch in enumerate(body) if ch == "&")


def test_help_blocks_are_within_block_kit_limits():
    blocks = help_blocks((("/social report", "figures"),))
    assert len(blocks) <= 50
    assert all(len(b.get("text", {}).get("text", "")) <= 3000 for b in blocks)
    assert blocks[0]["text"]["type"] == "plain_text"

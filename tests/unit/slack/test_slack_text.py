from bot.slack.text import to_plain


def test_links_mentions_and_entities_become_plain_words():
    assert to_plain("Sorry! See <https://nw.example/help|https://nw.example/help> &amp; DM us") \
        == "Sorry! See https://nw.example/help & DM us"
    assert to_plain("<https://nw.example/b|our baggage page> has it") == \
        "our baggage page (https://nw.example/b) has it"
    assert to_plain("<@U0ANA> can you check? 1 &lt; 2 &gt; 0") == "can you check? 1 < 2 > 0"
    assert to_plain("mail <mailto:care@nw.example|care@nw.example>") == "mail care@nw.example"
    assert to_plain("<!channel> hi") == "hi"

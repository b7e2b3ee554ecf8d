"""The reply policy (bot.domain.policy): every violation, and the look-alikes that are not one."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.domain.policy import check_reply, iban_valid, luhn_valid, personal_data
from bot.domain.rules.schema import Brand, Policy

BRAND = Brand(name="Acme Bank", x_username="AcmeBank")
POLICY = Policy(banned_phrases=["guarantee", "risk-free", "100% safe"], block_personal_data=True)
FAMILY = "\U0001f468\u200d\U0001f469\u200d\U0001f467\u200d\U0001f466"


def check(text: str, network: str = "mastodon", *, mentioned: bool = True,
          policy: Policy = POLICY, **kw: object) -> list[tuple[str, str]]:
    return [(v.code, v.message) for v in check_reply(
        text, network=network, mention_mentions_brand=mentioned, brand=BRAND, policy=policy,
        **kw)]


def codes(text: str, network: str = "mastodon", **kw: object) -> list[str]:
    return [c for c, _ in check(text, network, **kw)]


@pytest.mark.parametrize("network", ["x", "mastodon", "bluesky"])
def test_a_plain_reply_passes(network: str) -> None:
    assert check("Sorry to hear that! Please DM us and we'll sort it out today.", network) == []


# --- the network's own rules ---------------------------------------------------------------

def test_rss_has_no_reply_channel() -> None:
    [(code, message)] = check("Thanks for the coverage!", "rss")
    assert code == "no_reply_channel"
    assert "no reply channel" in message and "handled elsewhere" in message


def test_x_refuses_a_reply_to_a_post_that_does_not_mention_the_brand() -> None:
    [(code, message)] = check("Hi! Happy to help.", "x", mentioned=False)
    assert code == "x_not_mentioned"
    assert message.startswith("X only allows replies to posts that mention @AcmeBank")
    assert check("Hi! Happy to help.", "x", mentioned=True) == []
    # the rule is X's alone
    assert check("Hi! Happy to help.", "mastodon", mentioned=False) == []
    assert check("Hi! Happy to help.", "bluesky", mentioned=False) == []


def test_x_rule_names_the_brand_when_it_has_no_x_username() -> None:
    [v] = check_reply("Hi", network="x", mention_mentions_brand=False,
                      brand=Brand(name="Acme Bank"), policy=POLICY)
    assert v.message.startswith("X only allows replies to posts that mention Acme Bank")


@pytest.mark.parametrize("text", ["", "   ", "\n\t"])
def test_empty_reply(text: str) -> None:
    assert check(text) == [("empty", "The reply is empty")]


def test_x_length_is_weighted() -> None:
    assert codes("x" * 280, "x") == []
    [(code, message)] = check("x" * 281, "x")
    assert code == "too_long" and message.startswith("281/280 weighted characters: 1 too many")
    assert codes("故" * 140, "x") == []
    assert codes("故" * 141, "x") == ["too_long"]  # CJK weighs 2


def test_mastodon_length_and_instance_limit() -> None:
    assert codes("x" * 500) == []
    [(code, message)] = check("x" * 501)
    assert code == "too_long" and message.startswith("501/500 characters")
    assert codes("x" * 501, max_chars=1000) == []
    assert codes("See https://acme.com/" + "a" * 600) == []  # a URL counts 23


def test_bluesky_graphemes_and_bytes() -> None:
    assert codes("e\u0301" * 300, "bluesky") == []
    [(code, message)] = check("e\u0301" * 301, "bluesky")
    assert code == "too_long" and message.startswith("301/300 graphemes")
    # 300 graphemes, but 7,500 bytes: the record's byte limit refuses it
    [(code, message)] = check(FAMILY * 300, "bluesky")
    assert code == "too_long" and message.startswith("7500/3000 bytes")


# --- banned phrases ------------------------------------------------------------------------

@pytest.mark.parametrize("text", [
    "We guarantee a refund.",
    "GUARANTEE!",
    "I can Guarantee that",
    "It is risk-free",
    "your savings are 100%   safe",  # any run of spaces
    "we ｇｕａｒａｎｔｅｅ it",  # full-width letters fold
])
def test_banned_phrases(text: str) -> None:
    [(code, message)] = check(text)
    assert code == "banned_phrase" and "is a banned phrase" in message


@pytest.mark.parametrize("text", [
    "Your refund is guaranteed by law",  # another word: not "guarantee"
    "There are guarantees",
    "risk free",  # the phrase is "risk-free"
    "It's 100% safer now",
    "unguarantee",
])
def test_banned_phrases_match_whole_words_only(text: str) -> None:
    assert codes(text) == []


def test_banned_phrase_position() -> None:
    [v] = check_reply("We GUARANTEE it", network="x", mention_mentions_brand=True, brand=BRAND,
                      policy=POLICY)
    assert (v.start, v.end) == (3, 12)
    assert v.message == '"GUARANTEE" is a banned phrase (policy.banned_phrases: "guarantee")'


# --- personal data -------------------------------------------------------------------------

CARDS = ["4111 1111 1111 1111", "4111-1111-1111-1111", "4111111111111111", "5555555555554444",
         "3782 822463 10005", "6011111111111117"]


@pytest.mark.parametrize("card", CARDS)
def test_card_numbers_that_pass_luhn_are_refused(card: str) -> None:
    [(code, message)] = check(f"Is your card {card} blocked?")
    assert code == "personal_data" and "payment card number" in message
    assert card not in message and message.count("…") == 1  # masked


@pytest.mark.parametrize("text", ["card 4111 1111 1111 1111 12/26 please",
                                  "ref 12 4111 1111 1111 1111 ok",
                                  "amex 3782 822463 10005 exp 1 2"])
def test_a_card_number_inside_a_longer_run_of_digits_is_found(text: str) -> None:
    [v] = personal_data(text)
    assert "payment card number" in v.message
    assert text[v.start:v.end].replace(" ", "") in ("4111111111111111", "378282246310005")


def test_a_card_like_number_that_fails_luhn_passes() -> None:
    assert not luhn_valid("4111111111111112")
    assert codes("ref 4111 1111 1111 1112 noted") == []


@given(st.text(alphabet="0123456789", min_size=16, max_size=16).filter(lambda s: s[0] != "0"))
def test_a_random_16_digit_number_is_refused_only_when_luhn_valid(number: str) -> None:
    assert bool(personal_data(f"ref {number} thanks")) == luhn_valid(number)


@pytest.mark.parametrize("iban", [
    "GB82 WEST 1234 5698 7654 32", "GB82WEST12345698765432", "DE89 3704 0044 0532 0130 00",
    "NL91ABNA0417164300", "FR14 2004 1010 0505 0001 3M02 606", "gb82 west 1234 5698 7654 32"])
def test_ibans_are_refused(iban: str) -> None:
    [(code, message)] = check(f"Pay to {iban} today")
    assert code == "personal_data" and "IBAN" in message


@pytest.mark.parametrize("text", [
    "Pay to GB82 WEST 1234 5698 7654 33 today",  # mod-97 fails
    "Pay to GB82 WEST 1234 5698 7654 3 today",  # too short for GB
    "Code XX82WEST12345698765432",  # no such country
])
def test_iban_look_alikes_pass(text: str) -> None:
    assert codes(text) == []


def test_iban_check() -> None:
    assert iban_valid("GB82WEST12345698765432") and not iban_valid("GB82WEST12345698765423")


@pytest.mark.parametrize("text", ["your account no. 12345678", "Account number: 98765432",
                                  "acct #55512345", "sort code 20-00-00"])
def test_account_numbers_named_as_such_are_refused(text: str) -> None:
    assert codes(text) == ["personal_data"]


@pytest.mark.parametrize("text", ["Mail ana.lima@gmail.com", "write to a_b+desk@example.co.uk"])
def test_personal_email_addresses_are_refused(text: str) -> None:
    [(code, message)] = check(text)
    assert code == "personal_data" and "e-mail address" in message


@pytest.mark.parametrize("text", ["Mail help@acmebank.com", "write to support+cards@acme.com",
                                  "hi @ana@mastodon.social", "thanks @AcmeBank"])
def test_role_mailboxes_and_handles_pass(text: str) -> None:
    assert codes(text) == []


@pytest.mark.parametrize("phone", [
    "+44 20 7946 0958", "+1 (415) 555-2671", "+4915112345678", "0044 20 7946 0958",
    "(415) 555-2671", "415-555-2671", "415.555.2671", "020 7946 0958", "07700 900123",
    "06 12 34 56 78",
])
def test_phone_numbers_are_refused(phone: str) -> None:
    [(code, message)] = check(f"Call {phone} now")
    assert code == "personal_data" and "phone number" in message


@pytest.mark.parametrize("text", [
    "flight NW123 at 10:45 costs $120",
    "Your flight NW1234 leaves 2026-11-23 at 07:15",
    "booked for 23.11.2026, gate 12",
    "the fee is €1,200.50 (was £1 200)",
    "order #12345678 shipped",
    "ticket 1234567890123",
    "open 09:00-17:00 Mon-Fri",
    "upgrade to v2.10.3",
    "call us free on 0800 123 4567",
    "or on +1 800 555 0199",
    "1-800-555-0199",
    "20% off until 31/12",
    "see https://x.com/AcmeBank/status/1853706321916866671",
])
def test_numbers_that_are_not_personal_data_pass(text: str) -> None:
    assert check(text) == []


def test_personal_data_off() -> None:
    lenient = Policy(banned_phrases=[], block_personal_data=False)
    assert check("card 4111 1111 1111 1111, ana@gmail.com", policy=lenient) == []


def test_each_place_is_reported_once_in_order() -> None:
    found = personal_data("mail ana@gmail.com or call 020 7946 0958, card 4111111111111111")
    assert [v.message.split(" (")[0] for v in found] == [
        "Contains an e-mail address", "Looks like a phone number",
        "Looks like a payment card number"]
    assert [v.start for v in found] == sorted(v.start for v in found)

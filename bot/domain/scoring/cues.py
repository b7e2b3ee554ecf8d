"""English cue phrases and the one pass that finds them: risks (legal, regulatory, privacy,
reputational, security), complaint cues, "again"/"still", and questions. Other languages'
cues are bot.domain.scoring.language_cues; the points each is worth, bot.domain.scoring.points.

PURE. Risk, complaint and "again" phrases are matched on the mention's words in one pass (a
word-level trie), which keeps the whole of `enrich` within about 2x the cost of VADER alone.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import NamedTuple

# --- Cue phrases ------------------------------------------------------------------------------
# A phrase is words separated by spaces, matched on the lowercased words of the text
# (punctuation between words is ignored). A word may list alternatives ("delay|delayed"), end
# with "?" to be optional ("my|our?" matches "my", "our" or nothing), or end with "*" to match
# any word starting with it ("boycott*" matches "#BoycottNorthwind").

# Conservative on purpose: a flag can send a mention to approval, so each cue must be hard to
# hit by accident ("issue" is not "sue", "give me a sec" is not the SEC). Rules files add more.
_REGULATORS = "fca|sec|ftc|cfpb|faa|dot|caa|ico|ofcom|ombudsman|regulator|regulators"
RISK_CUES: dict[str, tuple[str, ...]] = {  # risk → phrases; order = order of Enrichment.risk
    "legal": (
        "sue|suing",
        "lawyer|lawyers|lawsuit|lawsuits|attorney|attorneys",
        "legal action",
    ),
    "regulatory": (
        "regulator|regulators|ombudsman",
        "fca|sec|ftc|cfpb|faa|dot|caa|ico|gdpr complaint|complaints",
        "complain|complaining|complained|complaint|report|reporting|reported you|them|this|it? "
        f"to|with the? {_REGULATORS}",
    ),
    "privacy": (
        "data breach|breaches",
        "leaked|leaking|leak my|our|customer|customers|personal personal? "
        "data|details|info|information",
        "hacked my? account",
        "account was|got|is|has? been? hacked",
        "dox|doxx|doxed|doxxed|doxing|doxxing",
        "shared|sharing my personal? details|data|info|information|address",
    ),
    "reputational": (
        "boycott*",
        "viral",
        "go|goes|going|went to the press|media|papers|news",
        "tell|telling|contact|contacting the press|media|papers",
    ),
    "security": (
        "phish*",
        "scam|scams|scammed|scammer|scammers",
        "fraud*",
        "hacked",
    ),
}

_ACCESS = ("log|login|sign|signin|access|connect|pay|transfer|withdraw|open|use|load|download"
           "|update|reset|verify|book|checkin|order|buy|get|make|send|receive")
# name → (points, negatable, phrases). A negatable cue does not count right after a negation
# ("not delayed", "no problem", "wasn't even delayed": at most one word in between). Cues that
# carry their own negation ("not working", "no one answers", "no refund") are not negatable.
COMPLAINT_CUES: dict[str, tuple[int, bool, tuple[str, ...]]] = {
    "delayed": (10, True, ("delay|delays|delayed|delaying",)),
    "cancelled": (10, True, ("cancelled|canceled|cancellation|cancellations",)),
    "stranded": (10, True, ("stranded|stuck",)),
    "lost": (8, True, ("lost|missing",)),
    "missed": (8, True, ("missed my|our? connection|flight|train",)),
    "broken": (8, True, (
        "broken|crashed|crashing|crashes|defective|faulty|damaged|cracked|ripped|shrunk|shrank",
        "broke down",
        "fell|falls|falling|fallen apart",
        # food and drink: what arrives spoiled is broken too
        "food|meal|order|pizza|burger|fries|coffee|drink was|is|were|are|arrived|came cold|stale|raw"
        "|undercooked|burnt|soggy|spoiled|expired",
        "food poisoning",
    )),
    "not_working": (10, False, (
        "not|never|cannot|isn't|isnt|doesn't|doesnt|didn't|didnt|won't|wont|can't|cant even? "
        "work|works|working|worked",
        "stopped working|charging|syncing|connecting|loading|responding",
        "won't|wont|doesn't|doesnt|didn't|didnt start|charge|sync|load|connect",
    )),
    "still_waiting": (10, False, ("still waiting", "waiting for? hours|days|weeks|ages")),
    "on_hold": (10, False, ("on hold",)),
    "no_answer": (10, False, (
        "no one|body answers|answered|responds|responded|replies|replied|helps|cares",
        "noone|nobody answers|answered|responds|responded|replies|replied|helps|cares",
        "no reply|replies|response|responses|answer|help|update|updates|refund",
    )),
    "refund": (6, False, ("refund|refunds|refunded|compensation", "money back")),
    "charged_twice": (10, False, ("charged me? twice", "double charged", "overcharged")),
    "bad_service": (8, True, (
        "worst|terrible|awful|horrible|appalling|disgusting|pathetic|useless|unacceptable"
        "|ridiculous|rude|unhelpful|disappointed|disappointing",
    )),
    # Beyond airlines: banks, shops, telecoms, software (the cues of issue 15).
    "card_swallowed": (10, False, (
        "swallowed|retained|seized|ate|eaten|kept|took my|our? card|cards",
        "card|cards was|got|has|been? swallowed|retained|seized|stuck|blocked|declined",
    )),
    "account_blocked": (10, False, (
        "account|accounts|acct|card|cards|profile|wallet has|have|was|is|got|been? been? "
        "frozen|locked|blocked|suspended|restricted|disabled|deactivated|closed|banned|hacked",
        "locked out",
        "froze|freeze|blocked|suspended|locked|closed|banned|disabled my|our account|accounts|card",
    )),
    "charged": (8, True, (
        "charged|debited|deducted|overcharged|billed",
        "took|taken|stole|stolen my|our money|funds",
    )),
    "no_refund": (10, False, (
        "no|not|never|without|yet a? refund|refunded|reversal|reversed",
        "yet to be? refunded|reversed|refund|reverse",
        "still waiting|no for|on? my? refund|money",
        "reverse|return|refund my|our money|funds|cash",
    )),
    "not_delivered": (10, False, (
        "not|never|hasn't|hasnt|haven't|havent|didn't|didnt|wasn't|wasnt|yet been? "
        "delivered|arrived|received|shipped|dispatched|come",
        "yet to be? delivered|arrive|receive|shipped|dispatched",
        "never got|received|came|arrived",
        "where is|are my|our order|orders|parcel|package|delivery|refund|money",
        "wrong order|orders|item|items|size|product|parcel|package|food|meal|drink|colour|color",
        "missing item|items|part|parts|piece|pieces|order",
        "never|didn't|didnt show|showed|turned|turn up",
    )),
    "outage": (10, False, (
        "outage|outages|blackout|blackouts|offline",
        "no service|signal|internet|network|connection|power|electricity|light|water|data",
        "is|are|was|were|been|still|keeps|goes|went down again?",
    )),
    "cant_access": (10, False, (
        "can't|cant|cannot|couldn't|couldnt|unable|not to? " + _ACCESS,
        "not able to " + _ACCESS,
        "keeps|keep crashing|failing|freezing|logging",
        "failed transaction|transactions|transfer|transfers|payment|payments|login|delivery",
        "transaction|transfer|payment|login|order declined|failed|pending|reversed",
    )),
    "hotline": (8, False, (
        "hotline|helpline",
        "call centre|center|centres|centers",
        "just|keeps|kept rings|ringing|rang",
        "hung|hang up on me",
    )),
    "waiting_since": (10, False, (
        "waiting since",
        "been waiting",
        "since yesterday|morning|monday|tuesday|wednesday|thursday|friday|saturday|sunday|last",
        "for a|one|two|three|four|five|six|several|few|over|almost|nearly|1|2|3|4|5|6|7|8|9|10"
        " day|days|week|weeks|month|months|hours",
    )),
    "problem": (5, True, (
        "problem|problems|issue|issues|complaint|complaints|complain|complaining|complained",
        "fix this|it",
        "not|never|still not? fixed|resolved|repaired|sorted",
        "check engine light",
    )),
}
NEGATIONS = frozenset({
    "not", "no", "never", "without", "hardly", "nothing", "cannot", "dont", "doesnt", "didnt",
    "isnt", "wasnt", "werent", "arent", "wont", "cant", "havent", "hasnt",
})  # and any word ending in n't

# A complaint said to happen again: an intensifier, and the "repeated" kind of urgency.
AGAIN = ("again|still", "once more")  # phrases

# --- Question cues ----------------------------------------------------------------------------
# A "?" that ends a word (not the one in a URL's query string), or a question opening (after
# any leading @mentions): a wh-word followed by an auxiliary, or an auxiliary followed by a
# pronoun. "When I landed, …" and "What a flight" are not questions. On the lowercased text.
QUESTION_MARK = re.compile(r"\?(?![\w=&/%])")
QUESTION_OPENINGS: tuple[str, ...] = (
    r"(?:how|what|why|when|where|who|which)(?:'s| (?:do|does|did|is|are|was|were|can|could"
    r"|should|would|will|has|have|to|much|many|long|often|come))",
    r"(?:can|could|would|will|should|do|does|did|is|are|has|have|may)"
    r" (?:you|u|i|we|they|it|anyone|anybody|someone|somebody|my|the|this|there)",
    r"any ?(?:one|body) (?:know|else|help)",
)
_QUESTION_OPENING = re.compile(
    r"\s*(?:[.@#]\S*\s+)*(?:" + "|".join(QUESTION_OPENINGS) + r")\b"
)


# --- Matching words and phrases ---------------------------------------------------------------
_ODD_CASE = re.compile("[İıſK]")  # the non-ASCII letters re.IGNORECASE matches to a-z
_ODD_FOLD = str.maketrans({"İ": "i", "ı": "i", "ſ": "s", "K": "k"})


def lower_for_matching(text: str) -> str:
    """`text.lower()`, except that the four non-ASCII letters Python's case-insensitive regexes
    equate with ASCII ones (İ ı ſ K) become that letter. So whenever an ASCII string matches
    somewhere in `text` under re.IGNORECASE, its lowercase is a substring of the result."""
    if not text.isascii() and _ODD_CASE.search(text):
        text = text.translate(_ODD_FOLD)
    return text.lower()


WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)*")  # cue words are ASCII; é and the like split words


def words_of(low: str) -> list[str]:
    """The words cues are matched on, from lowercased text (curly apostrophes straightened)."""
    if "’" in low:
        low = low.replace("’", "'")
    return WORD.findall(low)


class _Node:
    """A word trie: each node knows the words and word prefixes that follow it."""

    __slots__ = ("hits", "prefix_tuple", "prefixes", "words")

    def __init__(self) -> None:
        self.words: dict[str, _Node] = {}
        self.prefixes: dict[str, _Node] = {}  # "boycott" for "boycott*"
        self.prefix_tuple: tuple[str, ...] = ()  # the same keys, for one str.startswith call
        self.hits: list[tuple[str, str]] = []  # (table, name) of the phrases ending here

    def add(self, slots: list[list[str]], hit: tuple[str, str]) -> None:
        if not slots:
            if hit not in self.hits:
                self.hits.append(hit)
            return
        for alt in slots[0]:
            if not alt:  # an optional word left out
                self.add(slots[1:], hit)
            elif alt.endswith("*"):
                child = self.prefixes.setdefault(alt[:-1], _Node())
                self.prefix_tuple = tuple(self.prefixes)
                child.add(slots[1:], hit)
            else:
                self.words.setdefault(alt, _Node()).add(slots[1:], hit)


def _slots(phrase: str) -> list[list[str]]:
    out = []
    for word in phrase.lower().split():
        optional = word.endswith("?")
        alts = word.rstrip("?").split("|")
        out.append([*alts, ""] if optional else alts)
    return out


def _build_trie(tables: Iterable[tuple[str, str, Iterable[str]]]) -> _Node:
    root = _Node()
    for table, name, phrases in tables:
        for phrase in phrases:
            root.add(_slots(phrase), (table, name))
    return root


_TRIE = _build_trie([
    *(("risk", risk, phrases) for risk, phrases in RISK_CUES.items()),
    *(("cue", name, phrases) for name, (_, _, phrases) in COMPLAINT_CUES.items()),
    ("again", "again", AGAIN),
])
RISK_ORDER = {risk: i for i, risk in enumerate(RISK_CUES)}
_NEGATABLE = frozenset(name for name, (_, negatable, _) in COMPLAINT_CUES.items() if negatable)


def _negated(words: list[str], i: int) -> bool:
    """Whether a negation ends at most one word before words[i]."""
    for k in (i - 1, i - 2):
        if k >= 0 and (words[k] in NEGATIONS or words[k].endswith("n't")):
            return True
    return False


class Found(NamedTuple):
    """What `scan` found: the risks (RISK_CUES order), the complaint cues (in order of
    appearance, negated ones left out) and whether "again"/"still" is said."""

    risks: tuple[str, ...]
    cues: tuple[str, ...]
    again: bool


def scan(words: list[str]) -> Found:
    """Every phrase of every table that occurs in `words`, in one pass."""
    risks: set[str] = set()
    cues: list[str] = []
    again = False
    n = len(words)
    first_words, first_prefixes = _TRIE.words, _TRIE.prefix_tuple
    for i, word in enumerate(words):
        if word not in first_words and not word.startswith(first_prefixes):
            continue  # most words start no phrase
        stack = [(_TRIE, i)]  # (node, index of the next word)
        while stack:
            node, j = stack.pop()
            for table, name in node.hits:
                if table == "risk":
                    risks.add(name)
                elif table == "again":
                    again = True
                elif name not in cues and not (name in _NEGATABLE and _negated(words, i)):
                    cues.append(name)
            if j < n:
                following = words[j]
                child = node.words.get(following)
                if child is not None:
                    stack.append((child, j + 1))
                if node.prefix_tuple and following.startswith(node.prefix_tuple):
                    stack.extend(
                        (c, j + 1) for p, c in node.prefixes.items() if following.startswith(p)
                    )
    if len(risks) > 1:
        return Found(tuple(sorted(risks, key=RISK_ORDER.__getitem__)), tuple(cues), again)
    return Found(tuple(risks), tuple(cues), again)


def risks_of(text: str) -> tuple[str, ...]:
    """The built-in risk flags a text raises, in RISK_CUES order."""
    return scan(words_of(lower_for_matching(text))).risks


def complaint_cues(text: str) -> tuple[str, ...]:
    """Names of the complaint cues in `text`, in order of appearance, negated ones left out."""
    return scan(words_of(lower_for_matching(text))).cues


def is_question(text: str) -> bool:
    return question_in(lower_for_matching(text))


def question_in(low: str) -> bool:
    """`is_question` of text already lowered by `lower_for_matching`."""
    return QUESTION_MARK.search(low) is not None or _QUESTION_OPENING.match(low) is not None

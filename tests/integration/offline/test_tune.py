"""`socialbot tune` on a real database (SQLite and PostgreSQL): mentions and the corrections
staff made on them are read back, proposals come out with their replayed effect, and
`--write` produces a rules file `socialbot check` accepts. Nothing is written to the database."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from bot.cli import main
from bot.domain.rules.load import load_rules
from bot.kit import models
from bot.offline.tune import proposals as tune
from bot.offline.tune.history import load_cases
from tests.support.paths import ROOT

RULES = ROOT / "routing_rules.yaml"
AT = datetime(2026, 11, 20, 9, tzinfo=UTC)

REROUTED = ["@NorthwindAir my flight got rerouted through Denver",
            "@NorthwindAir they rerouted my trip via Oslo",
            "rerouted to Leeds, @NorthwindAir", "@NorthwindAir rerouted twice this week"]
CHARTER = ["Do you run charter flights for our football club?",
           "Quote for a charter to Ibiza please @NorthwindAir",
           "Looking at charter options for 40 people", "need a charter for the choir"]
OTHERS = ["lovely flight today", "seat 12A was comfy", "landed in Oslo", "Denver is cold",
          "what time is boarding?", "crew were friendly on the way to Leeds"]


def seed(session, make_author, make_mention) -> dict[str, list[int]]:
    """Mentions as ingest stored them (care, P4, neutral…) and staff's corrections."""
    ids: dict[str, list[int]] = {"rerouted": [], "charter": [], "others": [], "blogger": []}

    def mention(text: str, author=None, **kw):
        kw.setdefault("author", author or make_author())
        return make_mention(text=text, team="care", sentiment="neutral", priority="P4",
                            compound=0.0, ingested_at=AT, created_at=AT, **kw)

    def correct(m, field: str, old: str, new: str, minutes: int = 0) -> None:
        session.add(models.Correction(mention_id=m.id, field=field, old_value=old,
                                      new_value=new, by="U0STAFF", at=AT + timedelta(
                                          minutes=minutes)))

    for t in REROUTED:
        m = mention(t)
        correct(m, "sentiment", "neutral", "negative")
        ids["rerouted"].append(m.id)
    for k, t in enumerate(CHARTER):
        m = mention(t)
        # One was first sent to pr by mistake, then on to sales: the last word wins.
        if k == 0:
            correct(m, "team", "care", "pr", minutes=1)
            correct(m, "team", "pr", "sales", minutes=2)
        else:
            correct(m, "team", "care", "sales")
        ids["charter"].append(m.id)
    for t in OTHERS:
        ids["others"].append(mention(t).id)
    blogger = make_author(handle="travelbloggr", followers=900)
    m = mention("great blog post about lounges", author=blogger)
    correct(m, "author_type", "customer", "press")
    ids["blogger"].append(m.id)
    ids["blogger"].append(mention("another post, about seats", author=blogger).id)
    # A correction undone is no correction.
    m = mention("landed in Rome")
    correct(m, "sentiment", "neutral", "positive", minutes=1)
    correct(m, "sentiment", "positive", "neutral", minutes=2)
    ids["others"].append(m.id)
    session.commit()
    return ids


def test_history_and_proposals(session, make_author, make_mention):
    ids = seed(session, make_author, make_mention)
    cases = list(load_cases(session))
    assert len(cases) == 4 + 4 + 6 + 2 + 1
    by_id = {c.mention_id: c for c in cases}
    assert by_id[ids["charter"][0]].truth == {"team": "sales"}
    assert by_id[ids["charter"][0]].was == {"team": "care"}
    assert by_id[ids["others"][-1]].truth == {}  # undone
    assert by_id[ids["blogger"][0]].mention.author.handle == "travelbloggr"
    assert tune.corrected_counts(cases) == {"sentiment": 4, "priority": 0, "author_type": 1,
                                           "team": 4, "complaint": 0}

    rules = load_rules(RULES)
    proposals, _, _ = tune.propose(cases, rules)
    by_kind = {p.kind: p for p in proposals}
    assert set(by_kind) == {"lexicon", "authors", "rule"}

    lex = by_kind["lexicon"]
    assert lex.edit["word"] == "rerouted" and lex.edit["valence"] < 0
    assert set(lex.effect.of("sentiment").fixed) == set(ids["rerouted"])
    assert lex.effect.of("sentiment").changed_others == 0

    authors = by_kind["authors"]
    assert authors.edit == {"op": "authors", "kind": "press", "handles": ["travelbloggr"]}
    assert authors.effect.of("author_type").fixed == (ids["blogger"][0],)
    assert authors.effect.of("author_type").changed_others == 1  # the blogger's other post
    assert authors.effect.of("team").changed_others == 2  # press rule → pr, both posts

    rule = by_kind["rule"]
    assert rule.edit["rule"]["then"] == {"team": "sales"}
    assert rule.edit["rule"]["when"] == {"text_matches": [r"\bcharter\b"]}
    team = rule.effect.of("team")
    assert set(team.fixed) == set(ids["charter"]) and team.broken == ()
    assert team.changed_others == 0
    assert (team.right_before, team.right_after, team.corrected) == (0, 4, 4)


def run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    return main(list(argv), out=out, err=err), out.getvalue(), err.getvalue()


def test_cli_report_json_and_write(monkeypatch, tmp_path, migrated_url, session, make_author,
                                   make_mention):
    ids = seed(session, make_author, make_mention)
    monkeypatch.setenv("DATABASE_URL", migrated_url)
    monkeypatch.setenv("SOCIALBOT_RULES", str(RULES))
    before = {t: session.scalar(select(func.count()).select_from(t))
              for t in (models.Mention, models.Correction, models.Author)}
    rules_text = RULES.read_text("utf-8")

    code, out, err = run("tune")
    assert code == 0, err
    assert out.startswith("socialbot tune: 17 stored mentions replayed with")
    assert "9 corrections (sentiment 4, author type 1, team 4)" in out
    assert "add 'rerouted': -" in out and "to sentiment.lexicon" in out
    assert "add travelbloggr to authors.press" in out
    assert "team corrections right 0 → 4 of 4 (fixed 4, broken 0)" in out
    assert "all 3 together:" in out

    code, out, err = run("tune", "--json")
    assert code == 0, err
    data = json.loads(out)
    assert data["mentions"] == 17
    assert data["corrected"] == {"sentiment": 4, "priority": 0, "author_type": 1, "team": 4,
                                 "complaint": 0}
    kinds = {p["kind"]: p for p in data["proposals"]}
    assert sorted(kinds) == ["authors", "lexicon", "rule"]
    assert sorted(kinds["rule"]["effect"]["fields"]["team"]["fixed"]) == sorted(ids["charter"])
    assert data["together"]["fields"]["sentiment"]["right_after"] == 4
    numbers = {p["kind"]: p["number"] for p in data["proposals"]}

    # --write: a checked copy; never the live file.
    code, _, err = run("tune", "--write", str(RULES))
    assert code == 2 and "is the live rules file" in err
    target = tmp_path / "proposed.yaml"
    code, _, err = run("tune", "--write", str(target),
                       "--only", f"{numbers['lexicon']},{numbers['rule']}")
    assert code == 0, err
    assert f"wrote {target}" in err
    written = load_rules(target)
    assert written.sentiment.lexicon["rerouted"] < 0
    assert written.rules[-1].then.team == "sales"
    assert "travelbloggr" not in written.authors.press  # not picked
    code, out, err = run("check", "--rules", str(target))
    assert code == 0, err
    assert run("tune", "--only", "9", "--write", str(target))[0] == 2

    # Read only: the database and the live rules file are as they were.
    session.expire_all()
    after = {t: session.scalar(select(func.count()).select_from(t)) for t in before}
    assert after == before
    assert RULES.read_text("utf-8") == rules_text


def test_cli_empty_history(monkeypatch, migrated_url):
    monkeypatch.setenv("DATABASE_URL", migrated_url)
    monkeypatch.setenv("SOCIALBOT_RULES", str(RULES))
    code, out, err = run("tune")
    assert code == 0, err
    assert "0 stored mentions" in out and "no proposal" in out


STUCK = ["Tiketi yangu imepotea kwenye mfumo", "Mzigo wangu imepotea uwanjani tangu jana",
         "Pesa imepotea kwenye akaunti yangu"]  # Swahili: "… is lost": complaints, not flagged
SWAHILI = ["Habari za asubuhi marafiki", "Tunasafiri kwenda Mombasa kesho",
           "Ndege ilifika mapema leo", "Chakula kilikuwa kitamu sana"]
NOT_COMPLAINTS = ["@NorthwindAir my bag got zorbled on the way to Leeds",
                  "@NorthwindAir your app zorbled my booking again",
                  "@NorthwindAir the wifi got zorbled on my flight"]  # flagged; staff: no complaint


def seed_complaints(session, make_author, make_mention) -> dict[str, list[int]]:
    ids: dict[str, list[int]] = {"stuck": [], "swahili": [], "not": []}

    def mention(text: str, lang: str | None = None):
        return make_mention(text=text, team="care", sentiment="neutral", priority="P4",
                            compound=0.0, ingested_at=AT, created_at=AT, lang=lang,
                            author=make_author())

    def correct(m, old: str, new: str) -> None:
        session.add(models.Correction(mention_id=m.id, field="complaint", old_value=old,
                                      new_value=new, by="U0STAFF", at=AT))

    for t in STUCK:
        m = mention(t, "sw")
        correct(m, "not_complaint", "complaint")
        ids["stuck"].append(m.id)
    ids["swahili"] = [mention(t, "sw").id for t in SWAHILI]
    for t in NOT_COMPLAINTS:
        m = mention(t, "en")
        correct(m, "complaint", "not_complaint")
        ids["not"].append(m.id)
    session.commit()
    return ids


def test_complaint_corrections_propose_cues_per_language_and_a_threshold_shift(
        monkeypatch, tmp_path, migrated_url, session, make_author, make_mention):
    ids = seed_complaints(session, make_author, make_mention)
    cases = list(load_cases(session))
    assert tune.corrected_counts(cases)["complaint"] == 6
    rules = load_rules(RULES)
    proposals, replay, _ = tune.propose(cases, rules)
    assert tune.right_now(replay)["complaint"] == 0
    cues = [p for p in proposals if p.kind == "complaint_cue"]
    assert [p.edit for p in cues] == [{"op": "complaint_cue", "lang": "sw", "cue": "imepotea"}]
    fe = cues[0].effect.of("complaint")
    assert set(fe.fixed) == set(ids["stuck"]) and fe.broken == () and fe.changed_others == 0
    assert "in 3 of the 3 mentions staff marked a complaint" in cues[0].why
    assert "in 0 of the 4 others in sw" in cues[0].why
    (shift,) = [p for p in proposals if p.kind == "complaint_threshold"]
    assert shift.edit["op"] == "complaint_threshold" and shift.edit["shift"] > 0
    fe = shift.effect.of("complaint")
    assert set(fe.fixed) == set(ids["not"]) and fe.broken == ()
    assert "3 complaints not flagged, 3 flagged that are not" in shift.why

    # Through the command: the report, then a copy of the rules with both applied.
    monkeypatch.setenv("DATABASE_URL", migrated_url)
    monkeypatch.setenv("SOCIALBOT_RULES", str(RULES))
    code, out, err = run("tune")
    assert code == 0, err
    assert "6 corrections (complaint 6)" in out
    assert "add 'imepotea' to complaint.cues.sw" in out
    assert "complaint corrections right 0 → 3 of 6 (fixed 3, broken 0)" in out
    target = tmp_path / "proposed.yaml"
    code, _, err = run("tune", "--write", str(target))
    assert code == 0, err
    written = load_rules(target)
    shipped = rules.complaint.cues  # the shipped file's example: the cue joins its list
    assert written.complaint.cues == {**shipped, "sw": [*shipped.get("sw", []), "imepotea"]}
    assert written.complaint.threshold_shift == shift.edit["shift"]
    assert run("check", "--rules", str(target))[0] == 0
    together = tune.Replay(cases, written)
    assert tune.right_now(together)["complaint"] == 6

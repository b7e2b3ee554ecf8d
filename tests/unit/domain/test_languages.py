"""Languages: detection (bot.domain.scoring.language), sentiment and complaint in other languages
(bot.domain.scoring.multilingual), `unknown` for the rest, lexicons per language, routing by it."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.domain.mention import Author, Mention
from bot.domain.rules.load import RulesError, load_rules, parse_rules
from bot.domain.rules.starter import StarterTeam, starter_rules
from bot.domain.scoring import language, language_cues, multilingual
from bot.domain.scoring.enrich import enrich
from bot.domain.scoring.routing import route
from tests.support.paths import ROOT

NOW = datetime(2026, 12, 5, 12, tzinfo=UTC)
SHIPPED = load_rules(ROOT / "routing_rules.yaml")
SHIPPED_TEXT = (ROOT / "routing_rules.yaml").read_text(encoding="utf-8")
FR_LEXICON = "    fr: {retard: -1.5, annulé: -2.0, bagage: -0.5}\n"  # as shipped
# The shipped file's `complaint:` example, from its key to the blank line after it.
SHIPPED_COMPLAINT = SHIPPED_TEXT[SHIPPED_TEXT.index("\ncomplaint:") + 1:
                                 SHIPPED_TEXT.index("\n\n", SHIPPED_TEXT.index("\ncomplaint:")) + 1]


def mention(text: str, lang: str | None = None, followers: int = 10) -> Mention:
    return Mention(network="x", external_id="1", text=text, lang=lang,
                   author=Author(handle="a_customer", followers=followers))


@pytest.mark.parametrize(("text", "lang"), [
    ("Mi vuelo fue cancelado y nadie me responde, es una vergüenza", "es"),
    ("Mon colis n'est toujours pas arrivé et personne ne répond au téléphone", "fr"),
    ("Meu cartão foi bloqueado e ninguém resolve o problema", "pt"),
    ("Mein Zug hat schon wieder eine Stunde Verspätung, das ist eine Frechheit", "de"),
    ("Huduma yenu ni mbaya sana, nimekuwa nikisubiri tangu jana bila msaada", "sw"),
    ("Where is my bag? I have been waiting for two hours at the airport", "en"),
    ("東京の天気はとても良いです", "ja"),
    ("Моя карта заблокирована", "ru"),
    ("تم خصم المبلغ مرتين ولا احد يرد", "ar"),
    # Persian and Urdu share Arabic's script: the letters only they write tell them apart
    ("پرواز من لغو شد و هیچ کس جواب نمی‌دهد", "fa"),
    ("میری پرواز منسوخ ہو گئی اور کوئی جواب نہیں دے رہا", "ur"),
])
def test_detects_the_language_of_a_post(text, lang):
    assert language.detect(text) == lang


@pytest.mark.parametrize(("text", "lang"), [
    ("Schrecklicher Kundendienst, völlig unverschämt", "de"),
    ("Lieferung beschädigt, Rückerstattung bitte", "de"),
    ("Colis endommagé, remboursement svp", "fr"),
    ("Worst airline ever", None),  # English keeps the benefit of the doubt
    ("lost baggage claim pending", None),
])
def test_a_post_too_short_for_the_words_is_told_by_its_letters(text, lang):
    """Three words or fewer that the word model knows: the letter 3-grams decide, and a
    short English post is still English (None: scored as English)."""
    assert language.detect(text) in ((lang,) if lang else (None, "en"))


def test_too_short_to_tell_is_none_and_network_tags_win():
    assert language.detect("ok!") is None
    assert language.language_of("pt-BR", "anything at all") == "pt"
    assert language.language_of("und", "Mon colis n'est toujours pas arrivé, personne ne répond") == "fr"


@pytest.mark.parametrize(("text", "lang"), [
    ("Mon colis n'est toujours pas arrivé, personne ne répond, c'est scandaleux", "fr"),
    ("Estoy harto, el servicio es pésimo y sigo esperando el reembolso", "es"),
    ("Schrecklicher Service, ich bin sehr enttäuscht, mein Paket ist immer noch nicht angekommen", "de"),
    ("Que atendimento horrível, estou muito decepcionada", "pt"),  # P4 before the pt lexicon
    ("خدمة سيئة جدا، الطلب لم يصل حتى الآن", "ar"),  # "very bad service, the order never came"
])
def test_complaints_in_other_languages_are_negative_complaints(text, lang):
    e = enrich(mention(text, lang), SHIPPED, now=NOW)
    assert e.lang == lang and e.sentiment == "negative"
    assert e.is_complaint and e.priority in ("P1", "P2", "P3")


@pytest.mark.parametrize(("text", "lang", "kinds"), [
    ("mi cuenta está bloqueada desde hace tres días y nadie responde", "es",
     {"access", "waited"}),
    ("On m'a encore prélevé deux fois, c'est inadmissible", "fr", {"money", "repeated"}),
    ("Meu cartão foi bloqueado e ninguém resolve, cadê meu dinheiro", "pt",
     {"access", "waited", "money"}),
    ("Schon wieder doppelt abgebucht und keine Antwort", "de", {"money", "waited", "repeated"}),
    # "Your service is very bad, I have waited two weeks and my money has not been returned"
    ("Huduma yenu ni mbaya sana, nimesubiri wiki mbili na pesa zangu hazijarudishwa", "sw",
     {"waited", "money"}),
    # "the amount was deducted twice again and nobody answers"
    ("تم خصم المبلغ مرة أخرى ولا احد يرد", "ar", {"money", "waited", "repeated"}),
])
def test_an_urgent_complaint_in_another_language_is_p2_or_higher(text, lang, kinds):
    """Money, access and time waited make a complaint urgent in any language with cues, as in
    English: P2 or P1 with the `urgent` part, whatever the sentiment weights made of the words
    (the Swahili one reads as positive to them)."""
    scored = multilingual.scores(text, lang, {"compound": 0.0, "neg": 0.0, "pos": 0.0})
    assert scored is not None and scored.urgent == kinds
    e = enrich(mention(text, lang), SHIPPED, now=NOW)
    assert e.is_complaint and e.priority in ("P1", "P2") and e.score_parts["urgent"] >= 10
    assert e.score_parts["complaint"] >= 16  # its cues' points, as English cues give


@pytest.mark.parametrize(("english", "other", "lang"), [
    ("my account is blocked for three days and nobody answers",
     "mi cuenta está bloqueada desde hace tres días y nadie responde", "es"),
    ("They charged me twice again, this is unacceptable",
     "On m'a encore prélevé deux fois, c'est inadmissible", "fr"),
    ("Double charged again and no answer", "Schon wieder doppelt abgebucht und keine Antwort",
     "de"),
])
def test_the_same_complaint_ranks_alike_in_english_and_another_language(english, other, lang):
    """A desk sorts its queue by score: a complaint in Spanish must not sink below the same
    complaint in English."""
    en, e = (enrich(mention(english, "en"), SHIPPED, now=NOW),
             enrich(mention(other, lang), SHIPPED, now=NOW))
    assert e.priority == en.priority and abs(e.score - en.score) <= 10


@pytest.mark.parametrize(("text", "lang"), [
    ("Je reviendrai encore, merci pour tout !", "fr"),
    ("Otra vez gracias, todo perfecto con el pedido", "es"),
    ("Asante tena kwa huduma nzuri", "sw"),  # "thanks again for the good service"
])
def test_again_in_another_language_is_no_complaint_alone(text, lang):
    e = enrich(mention(text, lang), SHIPPED, now=NOW)
    assert not e.is_complaint and e.priority == "P4" and "urgent" not in e.score_parts


@pytest.mark.parametrize(("text", "lang", "risks"), [
    ("Me cobraron dos veces. Voy a demandarlos, ya hablé con mi abogado", "es", ("legal",)),
    ("Mes données personnelles ont fuité, j'ai écrit à la CNIL", "fr",
     ("regulatory", "privacy")),
    # "I was robbed of my money by fraudsters, I will go to court"
    ("Nimeibiwa pesa zangu na matapeli, nitaenda mahakamani", "sw", ("legal", "security")),
    ("Das ist Betrug! Ich gehe zur Verbraucherzentrale", "de", ("regulatory", "security")),
    ("Vou processar vocês, meus dados foram vazados", "pt", ("legal", "privacy")),
    # "this is fraud, I will go to court and to consumer protection"
    ("هذا احتيال، سأذهب إلى المحكمة و حماية المستهلك", "ar",
     ("legal", "regulatory", "security")),
])
def test_risks_in_another_language_are_found_and_routed(text, lang, risks):
    """The risk cues of bot.domain.scoring.language_cues: the card's risks, and the shipped
    rules' `risk:` conditions send a threat in any language scoring reads to PR at P1, for
    approval, as the English words do."""
    m = mention(text, lang)
    e = enrich(m, SHIPPED, now=NOW)
    assert e.risk == risks and e.score_parts["risk"] >= 25
    decision = route(m, e, SHIPPED)
    assert decision.matched_rules[0] == "legal or regulator, any language"
    assert (decision.team, decision.priority, decision.approval_required) == ("pr", "P1", True)


def test_starter_rules_route_a_threat_in_any_language_for_approval():
    """`socialbot init`'s rules carry the same any-language risk rule: a lawyer in Spanish or
    the CNIL in French is P1 with approval on day one, not only the English words."""
    rules = parse_rules(starter_rules("Acme Bank", [StarterTeam("care", "C0REALCARE",
                                                                "#social-care", ["U0DANA0001"])]))
    for text, lang in [("Me cobraron dos veces. Voy a demandarlos, ya hablé con mi abogado", "es"),
                       ("Mes données personnelles ont fuité, j'ai écrit à la CNIL", "fr")]:
        m = mention(text, lang)
        decision = route(m, enrich(m, rules, now=NOW), rules)
        assert decision.matched_rules[0] == "legal or regulator, any language"
        assert (decision.priority, decision.approval_required) == ("P1", True)


def test_risk_words_of_one_language_are_not_read_in_another():
    """"demanda" is a lawsuit in Spanish, "demand" in a Portuguese sentence is no cue, and a
    language's cues need its tag: an English post saying "abogado" raises nothing."""
    assert enrich(mention("Quanta demanda neste verão, parabéns pelo sucesso", "pt"), SHIPPED,
                  now=NOW).risk == ()
    assert enrich(mention("My friend the abogado loved the flight", "en"), SHIPPED,
                  now=NOW).risk == ()


def test_language_cues_match_whole_words_in_a_row_the_longest_first():
    """Phrases match words in a row (the longest at a word wins: "cobro indebido" is one cue,
    not "cobro" too), "*" words by their start, handles by their name; a word inside another
    is no match."""
    def found(lang: str, text: str) -> language_cues.Found:
        low = text.lower()
        return language_cues.find(lang, multilingual.tokens(low), low)

    assert found("es", "Nadie me responde").cues == ("nadie me responde",)
    assert found("es", "otro cobro indebido").cues == ("cobro indebido",)
    assert found("es", "vamos a boicotear esta marca").risks == {"reputational"}
    assert found("es", "ya le escribí a @Profeco").risks == {"regulatory"}
    assert found("es", "el reembolsomatic es genial") == language_cues.NOTHING
    assert found("fr", "impossible d'accéder à mon compte").urgent == {"access"}
    assert found("xx", "anything") == language_cues.NOTHING


def test_praise_in_another_language_is_positive_and_p4():
    e = enrich(mention("Merci beaucoup, super service, l'équipe est géniale ❤️", "fr"), SHIPPED,
               now=NOW)
    assert e.sentiment == "positive" and not e.is_complaint and e.priority == "P4"


def test_a_language_without_weights_is_unknown_never_neutral():
    e = enrich(mention("東京の天気はとても良いです"), SHIPPED, now=NOW)
    assert e.lang == "ja" and e.sentiment == "unknown"
    assert e.compound == 0.0 and not e.is_complaint
    nl = enrich(mention("Dit is een bericht", "nl"), SHIPPED, now=NOW)
    assert nl.sentiment == "unknown"
    # Persian in Arabic's script is not read with Arabic's weights
    fa = enrich(mention("پرواز من لغو شد و هیچ کس جواب نمی‌دهد"), SHIPPED, now=NOW)
    assert (fa.lang, fa.sentiment) == ("fa", "unknown")


def test_a_lexicon_per_language_moves_that_language_only():
    text = "Le service était chouette"
    rules = parse_rules(SHIPPED_TEXT.replace(FR_LEXICON, "    fr: {chouette: -4.0}\n", 1))
    before = multilingual.scores(text, "fr", {"compound": 0.0, "neg": 0.0, "pos": 0.0, "neu": 1.0})
    after = enrich(mention(text, "fr"), rules, now=NOW)
    assert before is not None
    assert after.compound < enrich(mention(text, "fr"), SHIPPED, now=NOW).compound
    english = enrich(mention("chouette", "en"), rules, now=NOW)
    assert english.compound == enrich(mention("chouette", "en"), SHIPPED, now=NOW).compound


def test_lexicons_are_checked():
    assert FR_LEXICON in SHIPPED_TEXT
    for bad in ("French: {mal: -2}", "fr: {mal: -9}", "en: {bad: -2}"):
        with pytest.raises(RulesError, match="lexicons"):
            parse_rules(SHIPPED_TEXT.replace(FR_LEXICON, f"    {bad}\n", 1))


def test_the_shipped_rules_route_other_languages_to_a_language_team():
    m = mention("Mon colis n'est toujours pas arrivé et personne ne répond", None)
    e = enrich(m, SHIPPED, now=NOW)
    d = route(m, e, SHIPPED)
    assert e.lang == "fr"
    assert SHIPPED.teams[d.team].label and d.team != SHIPPED.default_team


def test_the_weights_file_names_its_sources_and_licences():
    w = multilingual.load_weights()
    assert "tools/derive_language_weights.py" in w["derived"]
    for source in ("xlm-t", "afrisenti", "CC BY 4.0", "Apache-2.0"):
        assert source in w["derived"]
    assert {"es", "fr", "pt", "de", "sw"} <= set(w["languages"])


def test_the_rules_files_complaint_cues_and_threshold_shift():
    """`complaint.cues.<lang>` (en too) flags a post the weights alone leave alone; a
    threshold shift moves the flag; bad entries are refused."""
    def with_complaint(section: str):  # the shipped example replaced by `section`
        return parse_rules(SHIPPED_TEXT.replace(SHIPPED_COMPLAINT, f"complaint: {section}\n"))

    sw, en = mention("Tiketi yangu imepotea kwenye mfumo", "sw"), \
        mention("my seat was zorbled", "en")
    plain = with_complaint("{}")
    assert not enrich(sw, plain, now=NOW).is_complaint
    assert not enrich(en, plain, now=NOW).is_complaint
    cued = with_complaint("{cues: {sw: [Imepotea], en: [zorbled]}}")
    assert cued.complaint.cues["sw"] == ["imepotea"]  # lowercased
    assert enrich(sw, cued, now=NOW).is_complaint and enrich(en, cued, now=NOW).is_complaint
    assert enrich(sw, cued, now=NOW).cues == ()  # the built-in cue names are unchanged
    assert enrich(en, plain, now=NOW).complaint_probability > 0.49
    assert enrich(en, with_complaint("{threshold_shift: -0.1}"), now=NOW).is_complaint
    for bad in ("{cues: {English: [x]}}", "{cues: {sw: ['  ']}}", "{threshold_shift: 0.5}"):
        with pytest.raises(RulesError, match="complaint"):
            with_complaint(bad)


@pytest.mark.parametrize(("text", "lang"), [
    ("Mzigo umepotea tangu jana uwanjani", "sw"),  # "the luggage is lost since yesterday"
    ("Bagage perdu à Orly", "fr"),
])
def test_the_shipped_rules_show_complaint_cues_per_language(text, lang):
    """The shipped file's `complaint:` example works: its cues flag posts the weights alone
    leave unflagged, and each raises a customer's post out of P4."""
    assert SHIPPED.complaint.cues.keys() >= {"en", "fr", "es", "sw"}
    assert SHIPPED.complaint.threshold_shift == 0.0
    without = enrich(mention(text, lang), SHIPPED.model_copy(
        update={"complaint": type(SHIPPED.complaint)()}), now=NOW)
    cued = enrich(mention(text, lang), SHIPPED, now=NOW)
    assert not without.is_complaint and without.priority == "P4"
    assert cued.is_complaint and cued.priority != "P4"


def test_extra_features_a_language_may_be_fitted_with():
    """Portuguese's unaccented words (one feature for "não" and "nao") and Swahili's verb
    prefixes (negation, subject and tense stripped to the root), only when asked for."""
    words = multilingual.tokens("não gostei nao")
    assert {"a:nao", "a:gostei"} <= multilingual.features(words, "", ("unaccented",))
    assert not any(f.startswith("a:") for f in multilingual.features(words, ""))
    sw = multilingual.features(["hatupendi", "nimefurahi", "si", "nzuri"], "", ("swahili",))
    assert {"m:neg", "m:neg_pend", "m:r_furah", "m:t_me", "m:negword", "m:not_nzuri"} <= sw
    assert not any(f.startswith("m:") for f in multilingual.features(["hatupendi"], ""))
    pt = multilingual.tokens("não gostei do atendimento, péssimo; adorei a bomba")
    assert multilingual.EXTRAS["portuguese_lexicon"](pt) == ["m:lex-", "m:lex-", "m:lex+"]
    assert multilingual.EXTRAS["swahili_lexicon"](["huduma", "mbaya", "sana", "hatupendi"]) == [
        "m:lex-", "m:lex-_int", "m:lex-"]
    assert multilingual.EXTRAS["letter_5grams"](["mbaya"]) == ["g: mbay", "g:mbaya", "g:baya "]


def test_the_weights_name_the_extra_features_they_were_fitted_with():
    w = multilingual.load_weights()["languages"]
    for lang, data in w.items():
        assert set(data.get("extras", ())) <= set(multilingual.EXTRAS), lang

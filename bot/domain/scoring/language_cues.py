"""PURE: the hand-written cue words of the languages scoring reads besides English: complaint
cues by the urgency they carry, the words that make a complaint repeated, and risk cues (legal,
regulatory, privacy, reputational, security) — the other languages' counterparts of
bot.domain.scoring.enrich's English tables. No labelled complaint or risk data exists in these
languages: the lists are small and conservative on purpose (a risk can send a reply to
approval), and a rules file adds words per language (`complaint.cues.<lang>`).

A phrase is matched on the post's words (`split`, the words scoring reads; a handle's name is
a word too), its words in a row; one ending in "*" is a single word matching any word starting
with it ("boicot*": "boicotear").
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

# Complaint cues per language, by the urgency they carry (the kinds of
# bot.domain.scoring.points.URGENT_CUES; "other": none): words or phrases (lowercase) that, in a
# post to a brand, mean something went wrong. Each one found raises the complaint odds; a
# flagged complaint with money, access or time waited among its cues is urgent, as an English
# one is.
COMPLAINT_CUES: dict[str, dict[str, tuple[str, ...]]] = {
    "es": {
        "money": ("reembolso", "devolución", "me cobraron", "cobraron", "cobro", "cobro indebido",
                  "doble cargo", "me descontaron", "mi dinero"),
        "access": ("no funciona", "bloqueada", "bloqueado", "sin servicio", "sin internet",
                   "sin luz", "no puedo entrar", "no puedo acceder", "no me deja"),
        "waited": ("sigo esperando", "llevo esperando", "todavía no", "nadie responde",
                   "nadie contesta", "nadie me responde", "no responden", "no contestan",
                   "sin respuesta", "desde hace"),
        "other": ("no llegó", "no ha llegado", "nunca llegó", "reclamo", "queja", "estafa",
                  "pésimo", "pésima", "vergüenza"),
    },
    "fr": {
        "money": ("remboursement", "pas remboursé", "débité", "prélevé", "prélèvement",
                  "facturé deux fois", "mon argent"),
        "access": ("ne marche pas", "ne fonctionne pas", "bloqué", "bloquée", "panne",
                   "impossible de me connecter", "impossible d'accéder", "coupure",
                   "pas de réseau"),
        "waited": ("toujours pas", "personne ne", "en attente", "j'attends", "aucune réponse",
                   "sans réponse", "depuis des jours", "depuis une semaine", "depuis hier"),
        "other": ("pas reçu", "jamais reçu", "pas livré", "réclamation", "arnaque",
                  "inadmissible", "scandaleux", "honteux", "inacceptable", "lamentable"),
    },
    "pt": {
        "money": ("reembolso", "estorno", "cobraram", "cobrança", "cobrança indevida",
                  "descontaram", "meu dinheiro", "devolução"),
        "access": ("não funciona", "bloqueada", "bloqueado", "sem serviço", "sem internet",
                   "sem sinal", "fora do ar", "não consigo entrar", "não consigo acessar"),
        "waited": ("ainda não", "ninguém responde", "ninguém resolve", "sem resposta",
                   "estou esperando", "aguardando", "há dias", "há semanas"),
        "other": ("não chegou", "nunca chegou", "reclamação", "golpe", "péssimo", "péssima",
                  "descaso", "absurdo"),
    },
    "de": {
        "money": ("rückerstattung", "erstattung", "abgebucht", "doppelt abgebucht", "mein geld",
                  "geld zurück"),
        "access": ("funktioniert nicht", "geht nicht", "gesperrt", "störung", "ausfall",
                   "kein netz", "kein internet", "komme nicht rein"),
        "waited": ("immer noch", "warte seit", "seit tagen", "seit wochen", "seit gestern",
                   "niemand", "keine antwort", "warteschleife"),
        "other": ("nicht angekommen", "nicht geliefert", "beschwerde", "verspätung", "betrug",
                  "unverschämt", "frechheit", "katastrophe"),
    },
    "it": {
        "money": ("rimborso", "addebitato", "addebito", "i miei soldi"),
        "access": ("non funziona", "bloccato", "bloccata", "disservizio", "guasto",
                   "non riesco ad accedere", "senza linea"),
        "waited": ("ancora non", "nessuno risponde", "in attesa", "da giorni", "da settimane",
                   "aspetto da"),
        "other": ("non arrivato", "mai arrivato", "reclamo", "truffa", "vergogna", "pessimo",
                  "pessima", "schifo"),
    },
    "sw": {
        "money": ("rudisha pesa", "pesa zangu", "pesa yangu", "hela zangu", "hela yangu",
                  "wamekata", "imekatwa", "zimekatwa", "nimekatwa", "sijarudishiwa",
                  "hazijarudishwa", "haijarudishwa"),
        # Not cues, by their train posts: "mtandao" (network) and "umeme" (power) alone are
        # topics, negative no more often than any post ("hakuna", there is none, makes them
        # one); "usumbufu" (inconvenience) is the brands' own "pole kwa usumbufu" (sorry for
        # it), never negative there.
        "access": ("imezuiwa", "imefungwa", "haifanyi kazi", "hakuna huduma", "hakuna mtandao",
                   "hakuna umeme", "umeme umekatika", "imekwama", "sijapata", "sijapokea"),
        "waited": ("nimesubiri", "ninasubiri", "nasubiri", "tunasubiri", "nikisubiri",
                   "hakuna mtu", "hamjibu", "hakuna jibu", "bila msaada"),
        "other": ("hamna", "tatizo", "shida", "wizi", "tapeli", "matapeli", "malalamiko",
                  "huduma mbaya", "mbaya sana", "mbovu", "kero"),
    },
    "ar": {
        "money": ("استرداد", "استرجاع", "فلوسي", "أموالي", "اموالي", "مبلغي", "تم خصم",
                  "انخصم", "خصموا", "خصم مبلغ", "تعويض"),
        "access": ("لا يعمل", "ما يشتغل", "مايشتغل", "مش شغال", "معطل", "متوقف", "انقطاع",
                   "مقطوع", "محظور", "حسابي موقوف", "تم ايقاف", "تم إيقاف", "لا أستطيع الدخول",
                   "ما اقدر ادخل", "مافي نت", "مافي شبكة", "لا يوجد انترنت"),
        "waited": ("ما زلت انتظر", "مازلت انتظر", "لازلت انتظر", "لا زلت انتظر", "منذ أيام",
                   "من أيام", "منذ اسبوع", "منذ أسبوع", "من اسبوع", "ولا أحد يرد",
                   "ولا احد يرد", "لا أحد يرد", "لا احد يرد", "محد يرد", "لا يوجد رد",
                   "بدون رد", "مافي رد", "ما في رد"),
        "other": ("شكوى", "شكوتي", "لم يصل", "لم تصل", "ما وصل", "ماوصل", "ما وصلت",
                  "سيئة جدا", "سيء جدا", "أسوأ خدمة", "اسوأ خدمة", "مهزلة", "مهزله", "زفت",
                  "احتيال", "نصب"),
    },
    "pcm": {
        "money": ("refund", "debit", "deduct", "my money", "reverse my money"),
        "access": ("block", "no dey work", "network no dey", "no light", "i no fit login"),
        "waited": ("still dey wait", "nobody dey", "una no dey answer", "una no dey reply"),
        "other": ("una no", "dem no", "wahala", "never", "scam", "thief", "fraud", "problem"),
    },
}
# Words that make a flagged complaint "repeated" (urgent), as "again" / "still" do in English;
# alone they are no complaint ("todavía me encanta").
AGAIN: dict[str, tuple[str, ...]] = {
    "es": ("otra vez", "de nuevo"),
    "fr": ("encore", "de nouveau", "à nouveau"),
    "pt": ("de novo", "novamente", "outra vez"),
    "de": ("schon wieder", "wieder", "erneut"),
    "it": ("di nuovo", "ancora una volta"),
    "sw": ("tena",),
    "pcm": ("again",),
    "ar": ("مرة أخرى", "مرة اخرى", "مرة ثانية", "مره ثانيه", "من جديد", "مجددا", "كالعادة",
           "كالعاده"),
}
REPEATED = "repeated"  # the kind AGAIN's words give
OTHER = "other"  # a complaint cue that carries no urgency
# Risk → phrases, per language; the risk names are cues.RISK_CUES's.
RISK_CUES: dict[str, dict[str, tuple[str, ...]]] = {
    "es": {
        "legal": ("abogado", "abogados", "demanda", "demandar", "demandaré", "los demandaré",
                  "voy a demandar", "acciones legales", "acción legal", "denuncia formal"),
        "regulatory": ("profeco", "condusef", "indecopi", "sernac", "defensa del consumidor",
                       "oficina del consumidor", "superintendencia"),
        "privacy": ("mis datos personales", "filtraron mis datos", "filtración de datos",
                    "fuga de datos", "hackearon mi cuenta"),
        "reputational": ("boicot*", "viral", "a la prensa", "a los medios"),
        "security": ("estafa", "estafador*", "fraude", "phishing", "hackeada", "hackeado"),
    },
    "fr": {
        "legal": ("avocat", "avocats", "porter plainte", "poursuites", "action en justice",
                  "poursuivre en justice", "tribunal"),
        "regulatory": ("dgccrf", "cnil", "arcep", "médiateur", "ufc que choisir"),
        "privacy": ("mes données personnelles", "fuite de données", "données personnelles",
                    "compte piraté"),
        "reputational": ("boycott*", "viral", "à la presse", "aux médias", "aux journalistes"),
        "security": ("arnaque", "escroquerie", "escroc*", "fraude", "hameçonnage", "phishing",
                     "piraté"),
    },
    "pt": {
        "legal": ("advogado", "advogados", "processar", "vou processar", "ação judicial",
                  "processo judicial", "justiça"),
        "regulatory": ("procon", "anatel", "anac", "banco central", "consumidor.gov"),
        "privacy": ("meus dados", "vazamento de dados", "vazaram meus dados", "dados pessoais",
                    "conta hackeada"),
        "reputational": ("boicote*", "viral", "reclame aqui", "imprensa"),
        "security": ("golpe", "golpista*", "fraude", "phishing", "hackeada", "hackeado"),
    },
    "de": {
        "legal": ("anwalt", "anwältin", "rechtsanwalt", "klage", "verklagen",
                  "rechtliche schritte", "gericht"),
        "regulatory": ("verbraucherzentrale", "bafin", "bundesnetzagentur", "schlichtungsstelle",
                       "datenschutzbehörde"),
        "privacy": ("meine daten", "datenleck", "persönliche daten", "konto gehackt"),
        "reputational": ("boykott*", "viral", "an die presse", "an die medien"),
        "security": ("betrug", "betrüger*", "abzocke", "phishing", "gehackt"),
    },
    "it": {
        "legal": ("avvocato", "avvocati", "vie legali", "causa legale", "querela", "denuncia"),
        "regulatory": ("agcom", "codacons", "ivass", "altroconsumo", "garante della privacy"),
        "privacy": ("i miei dati", "dati personali", "fuga di dati", "account hackerato"),
        "reputational": ("boicott*", "virale", "ai giornali", "alla stampa"),
        "security": ("truffa", "truffatori", "frode", "phishing", "hackerato"),
    },
    "sw": {
        "legal": ("mahakamani", "wakili", "nitawashtaki", "kuwashtaki"),
        "regulatory": ("tcra", "ewura", "epra", "cbk", "mamlaka ya mawasiliano"),
        "privacy": ("taarifa zangu", "data zangu", "siri zangu"),
        "reputational": ("vyombo vya habari",),
        "security": ("utapeli", "tapeli", "matapeli", "wizi", "wezi", "udanganyifu"),
    },
    "ar": {
        "legal": ("محامي", "المحامي", "محكمة", "المحكمة", "دعوى", "رفع دعوى", "رفع قضية",
                  "القضاء", "إجراءات قانونية", "اجراءات قانونية"),
        "regulatory": ("حماية المستهلك", "جهاز حماية المستهلك", "وزارة التجارة",
                       "البنك المركزي", "هيئة الاتصالات", "الطيران المدني"),
        "privacy": ("بياناتي", "بياناتي الشخصية", "تسريب البيانات", "تسريب بيانات",
                    "اختراق حسابي", "تم اختراق حسابي"),
        "reputational": ("مقاطعة", "قاطعوا", "الصحافة", "الإعلام"),
        "security": ("احتيال", "نصب", "نصاب", "نصابين", "حرامية", "سرقة", "اختراق", "تصيد"),
    },
    "pcm": {  # English-based: the English tables read it too ("lawyer", "scam", "fraud")
        "regulatory": ("cbn", "ncc", "fccpc", "efcc"),
    },
}


@dataclass(frozen=True, slots=True)
class Found:
    cues: tuple[str, ...]  # complaint cues, in the order found (AGAIN's words are none)
    urgent: frozenset[str]  # the kinds of urgency among them, and REPEATED
    risks: frozenset[str]


NOTHING = Found((), frozenset(), frozenset())


_WORD = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)*")  # a word in any script, as scoring reads it
# Combining marks are no letters to `\w`: Arabic's short vowels and Devanagari's vowel signs
# would cut a word in pieces ("किताब" into "क", "त", "ब"). The slower pattern that keeps them
# is used only on a text that has one.
_MARKS = ("\u0610-\u061a\u064b-\u065f\u0670\u06d6-\u06dc\u06df-\u06e4\u06e7\u06e8"
          "\u06ea-\u06ed\u0900-\u0903\u093a-\u094f\u0951-\u0957\u0962\u0963")
_LETTER = rf"(?:[^\W\d_]|[{_MARKS}])"
_MARKED = re.compile(f"[{_MARKS}]")
_MARKED_WORD = re.compile(rf"{_LETTER}+(?:['’]{_LETTER}+)*")


def split(low: str) -> list[str]:
    """The words of a lowercased text in any script, combining marks kept in their words."""
    return (_MARKED_WORD if _MARKED.search(low) else _WORD).findall(low)


HANDLE = re.compile(r"@(\w+)")  # a handle is a word here: tagging @Profeco is the risk
_Entry = tuple[tuple[str, ...], str, tuple[str, ...]]  # the words after the first, phrase, tags


@dataclass(frozen=True, slots=True)
class _Index:
    first: dict[str, list[_Entry]]  # a phrase's first word → its entries, longest first
    stems: dict[str, list[tuple[str, str, tuple[str, ...]]]]  # "*" words by their first 3 letters
    starts: tuple[str, ...]  # the "*" words' starts: a substring test skips them at once


@cache
def _index(lang: str) -> _Index | None:
    """Every phrase of the language by its first word, with its tags ("cue:<kind>",
    "risk:<name>", REPEATED)."""
    tags: dict[str, tuple[str, ...]] = {}

    def tag(phrase: str, name: str) -> None:
        tags[phrase] = (*tags.get(phrase, ()), name)

    for kind, phrases in COMPLAINT_CUES.get(lang, {}).items():
        for phrase in phrases:
            tag(phrase, "cue:" + kind)
    for phrase in AGAIN.get(lang, ()):
        tag(phrase, REPEATED)
    for risk, phrases in RISK_CUES.get(lang, {}).items():
        for phrase in phrases:
            tag(phrase, "risk:" + risk)
    if not tags:
        return None
    index = _Index({}, {}, tuple(sorted(p[:-1] for p in tags if p.endswith("*"))))
    for phrase, names in tags.items():
        if phrase.endswith("*"):
            index.stems.setdefault(phrase[:3], []).append((phrase[:-1], phrase, names))
            continue
        first, *rest = split(phrase)
        index.first.setdefault(first, []).append((tuple(rest), phrase, names))
    for entries in index.first.values():
        entries.sort(key=lambda e: -len(e[0]))
    return index


def find(lang: str, words: list[str], low: str) -> Found:
    """The cues of `lang` in a post: `words`, its words (`split`) without handles and links
    (multilingual.tokens), and `low`, its lowercased text. Matched word by word: a phrase's
    words in a row; the longest phrase at a word wins, and the next match starts after it."""
    index = _index(lang)
    if index is None:
        return NOTHING
    if "@" in low:
        words = [*words, *HANDLE.findall(low)]
    present = index.first.keys() & words  # most posts hold none: one set operation
    stemmed = any(start in low for start in index.starts)
    if not present and not stemmed:
        return NOTHING
    at = ([k for k, w in enumerate(words) if w in present or w.startswith(index.starts)]
          if stemmed else [k for k, w in enumerate(words) if w in present])
    hits: list[tuple[str, tuple[str, ...]]] = []
    end = 0  # past the last match: the next starts there
    for k in at:
        if k >= end:
            hit, end = _match(index, words, k, stemmed)
            if hit is not None:
                hits.append(hit)
    return _found(hits)


def _match(index: _Index, words: list[str], k: int, stemmed: bool
           ) -> tuple[tuple[str, tuple[str, ...]] | None, int]:
    """The longest phrase starting at words[k] (and its tags), and the index after it."""
    word = words[k]
    for rest, phrase, names in index.first.get(word, ()):
        if tuple(words[k + 1:k + 1 + len(rest)]) == rest:
            return (phrase, names), k + 1 + len(rest)
    if stemmed:
        for stem, phrase, names in index.stems.get(word[:3], ()):
            if word.startswith(stem):
                return (phrase, names), k + 1
    return None, k + 1


def _found(hits: list[tuple[str, tuple[str, ...]]]) -> Found:
    cues: dict[str, None] = {}
    urgent: set[str] = set()
    risks: set[str] = set()
    for phrase, names in hits:
        for name in names:
            if name == REPEATED:
                urgent.add(REPEATED)
            elif name.startswith("cue:"):
                cues[phrase] = None
                if name != "cue:" + OTHER:
                    urgent.add(name[4:])
            else:
                risks.add(name[5:])
    if not cues and not urgent and not risks:
        return NOTHING
    return Found(tuple(cues), frozenset(urgent), frozenset(risks))

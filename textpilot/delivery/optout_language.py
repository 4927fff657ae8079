"""Is this inbound text a request to stop? The "any reasonable means" matcher (FCC, 2025-04-11).

`classify_reply(body)` answers `(verdict, matched)`:

- `opt_out` — a clear request to stop: an opt-out keyword as the whole message (STOP,
  "opt-out!", "Cancel 🙏"), or a request in other words, in English, Spanish or French
  ("please stop texting me", "no más mensajes", "STOP SVP"). `matched` is the keyword
  (upper case, `is_keyword(matched)` is true) or the phrase that matched (lower case,
  accents stripped). Inbound unsubscribes on either.
- `possible_opt_out` — contains an opt-out word or fragment but is not clearly a request
  ("don't stop the sale!", "too many texts lol", "who is this?", a negated request such as
  "don't unsubscribe me"). Inbound flags it for staff review and leaves consent alone.
- `none` — plain conversation. `matched` is "".

Pure: no I/O, no model, the same answer for the same text. The tables below are the whole
policy; docs/opt-out-language.md explains them and the ambiguity rules.

How a text is read: Unicode NFKD, accents dropped, case-folded; English contractions lose
their apostrophe ("don't" -> "dont"), other apostrophes split words ("m'envoyer" -> "m
envoyer"); sentence punctuation (. , ! ? ; : newlines) ends a clause — a pattern never spans
two clauses, and a negation only counts inside the clause it is in; every other symbol,
emoji or dash is a space ("OPT-OUT" -> "opt out").
"""
from __future__ import annotations

import re
import unicodedata

OPT_OUT = "opt_out"
POSSIBLE_OPT_OUT = "possible_opt_out"
NONE = "none"

# --- 1. keywords: the whole message is one of these (CTIA / FCC list) --------------------------
# Normalised form -> what is recorded as the keyword. Source "inbound_keyword".
KEYWORDS: dict[str, str] = {
    "stop": "STOP",
    "stopall": "STOPALL",
    "quit": "QUIT",
    "end": "END",
    "revoke": "REVOKE",
    "opt out": "OPT OUT",  # also "opt-out", "Opt Out!"
    "optout": "OPTOUT",
    "cancel": "CANCEL",
    "unsubscribe": "UNSUBSCRIBE",
}

# --- 2. whole-message words and short phrases --------------------------------------------------
# A message made only of these (and of the polite FILLERS below, repeats allowed) is a clear
# opt-out: "stop please", "STOP STOP", "Alto por favor", "STOP SVP", "no more!".
WHOLE_MESSAGE: frozenset[str] = frozenset({
    # English
    *KEYWORDS, "stop all", "stop it", "unsub", "unsubscribed", "remove", "remove me", "no more", "no more texts",
    "no more messages", "leave me alone", "opt me out", "take me off", "quit it",
    # Spanish
    "alto", "parar", "para", "pare", "paren", "baja", "de baja", "dar de baja", "darme de baja", "basta", "cancelar",
    "detener", "no mas", "desuscribir", "desuscribirme", "no mas mensajes", "no mas textos", "no mas sms",
    # French
    "arret", "arrete", "arreter", "arretez", "desabonner", "me desabonner", "desabonnement", "desabonnez moi",
    "desinscrire", "me desinscrire", "desinscription", "desinscrivez moi", "plus de sms", "plus de messages",
    "pas de sms", "stop sms", "fini les sms",
})
# As a sentence inside a longer text these have an everyday sense ("Cancel. Wrong size.").
NOT_ALONE_IN_A_SENTENCE: frozenset[str] = frozenset({
    "end", "cancel", "quit", "quit it", "remove", "para", "pare", "baja", "de baja", "cancelar", "detener", "no more",
    "no mas", "arret", "stop it",
})
FILLERS: frozenset[str] = frozenset({
    "please", "pls", "plz", "plse", "pleas", "thanks", "thank you", "thx", "ty", "now", "right now", "asap", "ok",
    "okay", "just", "already", "immediately", "for good", "no", "thank u",
    "por favor", "porfa", "porfavor", "xfa", "gracias", "ya", "ahora",
    "svp", "stp", "s il vous plait", "s il te plait", "merci", "maintenant", "tout de suite", "de suite",
})

# --- 3. clear requests inside a longer text ----------------------------------------------------
# Searched in order on each clause. A match preceded (in its clause, within NEGATION_WINDOW
# words) by a negation ("don't stop texting me") is only a possible opt-out.
_TEXTS = (r"(?:texts?|txts?|texting|txting|messages?|msgs?|messaging|sms|smss|spam|alerts?|notifications?|promos?"
          r"|promotions?|marketing|ads|offers|deals|mensajes|textos|msjs?|promociones|publicidad|textos?|pubs?|publicites?)")
_ANY_WORDS = r"(?:\s+\w+){0,3}?"
PHRASES: tuple[tuple[str, str], ...] = (
    # (language, pattern)
    ("en", r"\bif\s+(?:you|u)\s+(?:dont|do\s+not)\s+stop\b"),
    ("en", r"\b(?:why|when)\s+(?:wont|dont|cant|will\s+not)\s+(?:you|u|yall|they)\s+(?:just\s+)?stop\b"),
    ("en", r"\b(?:stop|quit|cease|end)\s+(?:sending|texting|txting|messaging|contacting|spamming|calling|bugging"
           r"|bothering|harassing|harrassing|hitting\s+me\s+up)\b"),
    ("en", r"\b(?:stop|quit|cancel|cease)\b" + _ANY_WORDS + r"\s+" + _TEXTS + r"\b"),
    ("en", r"\bno\s+more\b(?:\s+\w+){0,2}?\s+" + _TEXTS + r"\b"),
    ("en", r"\b(?:remove|delete|drop|erase|unsubscribe|unsub)\s+(?:me|my\s+(?:number|phone(?:\s+number)?|cell|info"
           r"|details|contact)|this\s+number)\b"),
    ("en", r"\b(?:take|get)\s+(?:me|my\s+number|this\s+number)\s+off\b"),
    ("en", r"\b(?:opt|count)\s+me\s+out\b"),
    ("en", r"\b(?:dont|do\s+not|never)\s+(?:text|txt|message|msg|contact|sms|spam|send\s+me)\s+(?:me|this\s+number"
           r"|my\s+number|anything|any\s+more|again)\b"),
    ("en", r"\b(?:dont|do\s+not|no\s+longer)\s+want\s+(?:\w+\s+){0,2}?" + _TEXTS + r"\b"),
    ("en", r"\bleave\s+me\s+alone\b"),
    ("en", r"\b(?:revoke|withdraw)\w*\s+(?:my\s+|all\s+)?(?:consent|permission)\b"),
    ("en", r"\bunsub\w*\b|\bunsu\w*cri\w*\b"),  # unsubscribe, unsubscribed, unsuscribe, unsubcribe …
    ("en", r"\bopt\s*out\b|\bopted\s+out\b"),
    # Spanish
    ("es", r"\bno\s+(?:me\s+)?(?:envien|envies|envie|manden|mandes|mande|escriban|escribas)\s+mas\b"),
    ("es", r"\bno\s+mas\s+" + _TEXTS + r"\b"),
    ("es", r"\b(?:dejen|deja|deje|dejar)\s+de\s+(?:enviar|mandar|escribir)\w*\b"),
    ("es", r"\b(?:darme|dar|darse|denme|deme)\s+de\s+baja\b"),
    ("es", r"\b(?:elimin|borr|sac|saqu|quit)\w*\s+(?:me\s+)?(?:de\s+(?:la|su|esta|tu|sus|vuestra)\s+lista|mi\s+numero)\b"),
    ("es", r"\bno\s+(?:quiero|deseo)\s+(?:recibir\s+)?(?:mas\s+)?" + _TEXTS + r"\b"),
    ("es", r"\b(?:cancelar|anular)\s+(?:la\s+|mi\s+)?suscripcion\b"),
    ("es", r"\bdesuscrib\w*\b|\bdesinscrib\w*\b"),
    ("es", r"\bbasta\s+(?:de|con)\s+(?:los\s+|tantos\s+)?" + _TEXTS + r"\b"),
    # French
    ("fr", r"\barret\w*\s+(?:de\s+m\s+envoyer|d\s+envoyer|de\s+m\s+ecrire|les\s+" + _TEXTS + r"|vos\s+" + _TEXTS + r")\b"),
    ("fr", r"\bne\s+m\s+(?:envoyez|envoie|envoyer|ecrivez|ecris)\s+plus\b"),
    ("fr", r"\b(?:je\s+)?ne\s+veux\s+plus\s+(?:recevoir|de\s+" + _TEXTS + r"|d\s+" + _TEXTS + r")\b"),
    ("fr", r"\b(?:je\s+)?veux\s+plus\s+recevoir\b"),  # spoken French drops the "ne"
    ("fr", r"\bne\s+plus\s+(?:recevoir|etre\s+contacte)\b"),
    ("fr", r"\b(?:retirez|retire|enlevez|enleve|supprimez|supprime)\s+(?:moi|mon\s+numero)\b"),
    ("fr", r"\bdesabonn\w*\b|\bdesinscri\w*\b"),
)
NEGATION = re.compile(
    r"\b(?:dont|do\s+not|does\s+not|doesnt|didnt|did\s+not|never|cant|cannot|can\s+not|wont|will\s+not|not|why\s+did"
    r"|why\s+would|no\s+quiero|no\s+quise|no\s+deseo|no\s+voy\s+a|nunca|pas|jamais)\b"
)
NEGATION_WINDOW = 3  # words before a match (in its clause) that may negate it

# --- 4. fragments that make a text worth a look ------------------------------------------------
# Idioms removed first: they use an opt-out word in its everyday sense. "stop by the store
# tomorrow?" is plain conversation (none), not a possible opt-out.
IDIOMS: tuple[str, ...] = (
    r"\bstop\s+(?:by|in|over|at)\b", r"\b(?:bus|pit|one|last|next|first|non|truck|rest|full)\s+stop\b",
    r"\bstop\s+(?:sign|light)s?\b",
    r"\bcancel\w*\s+(?:my|the|this|that|an|our|el|mi|la)\s+(?:order|orders|purchase|payment|delivery|shipment"
    r"|appointment|reservation|booking|item|pedido|compra|commande)\b",
    r"\b(?:arret|arrets)\s+de\s+bus\b", r"\bsans\s+arret\b",
)
FRAGMENTS: tuple[tuple[str, str], ...] = (
    ("en", r"\bstop\w*\b"), ("en", r"\bcancel(?:l?ed)?\b"), ("en", r"\bquit\b"), ("en", r"\brevoke\b"),
    ("en", r"\bunsub\w*\b|\bopt\s*out\b"), ("en", r"\bremove\s+(?:me|my)\b"),
    ("en", r"\b(?:too|so)\s+many\b(?:\s+\w+){0,2}?\s+" + _TEXTS + r"\b"), ("en", r"^enough$|\benough\s+(?:with|of)\b"),
    ("en", r"\bwho\s+(?:is|s)\s+(?:this|that|it)\b|\bwho\s+(?:are\s+(?:you|u)|dis|r\s+u)\b"),
    ("en", r"\bwrong\s+(?:number|person|#)\b"), ("en", r"\bhow\s+did\s+(?:you|u)\s+get\s+(?:my|this)\s+(?:number|#)"),
    ("en", r"\b(?:never|didnt|did\s+not)\s+sign(?:ed)?\s+up\b"), ("en", r"\bspam\w*\b"),
    ("en", r"\bnot\s+interested\b"),
    ("es", r"\bquien\s+(?:es|eres|habla|son)\b"), ("es", r"\bnumero\s+equivocado\b"),
    ("es", r"\bdemasiados\s+" + _TEXTS + r"\b"), ("es", r"\bparar\b|\bbasta\b|\bcancelar\b"),
    ("fr", r"\bqui\s+(?:est\s+ce|etes\s+vous|es\s+tu)\b|\bc\s+est\s+qui\b"), ("fr", r"\bmauvais\s+numero\b"),
    ("fr", r"\btrop\s+de\s+" + _TEXTS + r"\b"), ("fr", r"\bveux\s+plus\s+de\s+" + _TEXTS + r"\b"),  # "more" or "no more"? ("fr", r"\barret\w*\b"),
)
# Stop-like emoji alone in a message: worth a look, not a request in words.
STOP_EMOJI = frozenset({"\U0001F6D1", "\u270B", "\U0001F6AB", "\u26D4"})  # 🛑 ✋ 🚫 ⛔

_PHRASES = tuple((lang, re.compile(pattern)) for lang, pattern in PHRASES)
_FRAGMENTS = tuple((lang, re.compile(pattern)) for lang, pattern in FRAGMENTS)
_IDIOMS = tuple(re.compile(pattern) for pattern in IDIOMS)
_CONTRACTION = re.compile(r"(\w)['’ʼ`´](t|s|m|re|ve|ll|d)\b", re.IGNORECASE)
_APOSTROPHE = re.compile(r"['’ʼ`´]")
_CLAUSE_END = re.compile(r"[.,!?;:\n\r¡¿…。！？]+")
_NOT_WORD = re.compile(r"[^\w|]+|_")
_SPACES = re.compile(r"\s+")
_MAX_CHARS = 1_000  # longer texts are read up to here: an opt-out is never buried in an essay


def normalize(body: str) -> str:
    """The text as the tables read it: lower case, no accents, clauses separated by " | "."""
    text = unicodedata.normalize("NFKD", (body or "")[:_MAX_CHARS])
    text = "".join(ch for ch in text if not unicodedata.combining(ch)).casefold()
    text = _CONTRACTION.sub(r"\1\2", text)
    text = _APOSTROPHE.sub(" ", text)
    text = _CLAUSE_END.sub(" | ", text)
    text = _NOT_WORD.sub(" ", text)
    text = re.sub(r"(?:\s*\|\s*)+", " | ", f" {text} ")
    return _SPACES.sub(" ", text).strip(" |")


def is_keyword(matched: str) -> bool:
    """True when `matched` (from classify_reply) is one of the opt-out keywords."""
    return matched in KEYWORDS.values()


def classify_reply(body: str) -> tuple[str, str]:
    """`(verdict, matched)` for an inbound text; see the module docstring."""
    text = normalize(body)
    words = text.replace("|", " ").split()
    if not words:
        if any(ch in STOP_EMOJI for ch in body or ""):
            return POSSIBLE_OPT_OUT, "stop emoji"
        return NONE, ""
    if len(words) > 2 and all(len(word) == 1 for word in words):  # "S.T.O.P", "s t o p"
        words = ["".join(words)]
    whole = " ".join(words)
    # 1 and 2: the whole message is a keyword, or only opt-out words and polite fillers.
    if whole in KEYWORDS:
        return OPT_OUT, KEYWORDS[whole]
    if _only_opt_out_words(words):
        return OPT_OUT, whole[:64]
    clauses = text.split(" | ")
    # A sentence of its own that is an unambiguous opt-out ("Stop. I never signed up").
    for clause in clauses:
        if _only_opt_out_words(clause.split(), exclude=NOT_ALONE_IN_A_SENTENCE):
            return OPT_OUT, clause[:64]
    # 3: a request in other words, unless negated.
    clauses = [_without_idioms(clause) for clause in clauses]
    possible = ""
    for clause in clauses:
        for _lang, pattern in _PHRASES:
            for match in pattern.finditer(clause):
                if not _negated(clause[: match.start()]):
                    return OPT_OUT, match.group(0)[:64]
                possible = possible or match.group(0)
    if possible:
        return POSSIBLE_OPT_OUT, possible[:64]
    # 4: an opt-out word or fragment in its everyday sense, or a "who is this?".
    for clause in clauses:
        for _lang, pattern in _FRAGMENTS:
            match = pattern.search(clause)
            if match:
                return POSSIBLE_OPT_OUT, match.group(0)[:64]
    return NONE, ""


def _without_idioms(clause: str) -> str:
    for idiom in _IDIOMS:
        clause = idiom.sub(" ", clause)
    return " ".join(clause.split())


def _only_opt_out_words(words: list[str], exclude: frozenset[str] = frozenset()) -> bool:
    """The words are whole-message opt-out words (not in `exclude`) and polite fillers only,
    with at least one opt-out word ("stop please", "STOP STOP", "Alto, por favor")."""
    position, found = 0, False
    while position < len(words):
        for size in (4, 3, 2, 1):
            piece = " ".join(words[position:position + size])
            if len(words) - position >= size and piece in WHOLE_MESSAGE and piece not in exclude:
                position, found = position + size, True
                break
            if len(words) - position >= size and piece in FILLERS:
                position += size
                break
        else:
            return False
    return found


def _negated(before: str) -> bool:
    """A negation among the last few words before a match ("don't", "never", "no quiero", "pas")."""
    window = " ".join(before.split()[-NEGATION_WINDOW:])
    return bool(NEGATION.search(window))

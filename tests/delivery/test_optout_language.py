"""The reasonable-means opt-out matcher: real-looking replies in English, Spanish and French,
each with the exact verdict (and, where it matters, what matched)."""
import pytest

from textpilot.delivery.optout_language import (
    KEYWORDS, NONE, OPT_OUT, POSSIBLE_OPT_OUT, classify_reply, is_keyword, normalize,
)

# (reply, verdict, matched or None when any match will do)
KEYWORD_REPLIES = [
    ("STOP", "STOP"), ("stop", "STOP"), (" Stop. ", "STOP"), ("STOP!!!", "STOP"), ("Stop 🛑", "STOP"),
    ("sToP", "STOP"), ("\tstop\n", "STOP"), ("STOPALL", "STOPALL"), ("QUIT", "QUIT"), ("quit.", "QUIT"),
    ("END", "END"), ("End!", "END"), ("REVOKE", "REVOKE"), ("OPT OUT", "OPT OUT"), ("opt out", "OPT OUT"),
    ("Opt-Out!!", "OPT OUT"), ("OPT-OUT", "OPT OUT"), ("optout", "OPTOUT"), ("OPTOUT.", "OPTOUT"), ("CANCEL", "CANCEL"),
    ("cancel 🙏", "CANCEL"), ("UNSUBSCRIBE", "UNSUBSCRIBE"), ("Unsubscribe!", "UNSUBSCRIBE"), ("«STOP»", "STOP"),
    ("S.T.O.P", "STOP"), ("ＳＴＯＰ", "STOP"),  # full-width letters (NFKD)
]

REPLIES = [
    # English: clear requests in other words
    ("please stop texting me", OPT_OUT, "stop texting"),
    ("Stop please", OPT_OUT, "stop please"),
    ("PLEASE STOP", OPT_OUT, "please stop"),
    ("stop stop stop", OPT_OUT, "stop stop stop"),
    ("No more texts", OPT_OUT, "no more texts"),
    ("no more of these messages!!", OPT_OUT, "no more of these messages"),
    ("Remove me from this list", OPT_OUT, "remove me"),
    ("please remove my number", OPT_OUT, "remove my number"),
    ("unsubscribe me", OPT_OUT, "unsubscribe me"),
    ("Can you take me off your list?", OPT_OUT, "take me off"),
    ("Don't text me again", OPT_OUT, "dont text me"),
    ("do not contact me", OPT_OUT, "do not contact me"),
    ("Stop sending me these promos", OPT_OUT, "stop sending"),
    ("I want to stop receiving these messages", OPT_OUT, "stop receiving these messages"),
    ("how do I stop these texts?", OPT_OUT, "stop these texts"),
    ("I'm not interested, stop texting me", OPT_OUT, "stop texting"),
    ("I already opted out!!", OPT_OUT, "opted out"),
    ("Why am I still getting these? I unsubscribed", OPT_OUT, "unsubscribed"),
    ("Leave me alone", OPT_OUT, "leave me alone"),
    ("If you don't stop I'll report you", OPT_OUT, "if you dont stop"),
    ("Stop. I never signed up for this", OPT_OUT, "stop"),
    ("I revoke my consent", OPT_OUT, "revoke my consent"),
    ("opt me out pls", OPT_OUT, "opt me out pls"),
    ("Unsubcribe", OPT_OUT, None),  # a typo of the keyword is still a clear request
    # Spanish
    ("ALTO", OPT_OUT, "alto"),
    ("Alto, por favor", OPT_OUT, "alto por favor"),
    ("PARAR", OPT_OUT, "parar"),
    ("BAJA", OPT_OUT, "baja"),
    ("no más mensajes", OPT_OUT, "no mas mensajes"),
    ("No me manden más mensajes por favor", OPT_OUT, "no me manden mas"),
    ("Por favor dejen de enviarme mensajes", OPT_OUT, "dejen de enviarme"),
    ("Quiero darme de baja", OPT_OUT, "darme de baja"),
    ("Sáquenme de la lista", OPT_OUT, "saquenme de la lista"),
    ("Ya no quiero recibir más textos", OPT_OUT, "no quiero recibir mas textos"),
    ("cancelar suscripción", OPT_OUT, "cancelar suscripcion"),
    ("Basta de mensajes!!", OPT_OUT, "basta de mensajes"),
    # French
    ("ARRÊT", OPT_OUT, "arret"),
    ("ARRET", OPT_OUT, "arret"),
    ("STOP SVP", OPT_OUT, "stop svp"),
    ("Stop merci", OPT_OUT, "stop merci"),
    ("désabonner", OPT_OUT, "desabonner"),
    ("Je veux me désabonner", OPT_OUT, "desabonner"),
    ("Arrêtez de m'envoyer des SMS", OPT_OUT, "arretez de m envoyer"),
    ("Ne m’envoyez plus de messages", OPT_OUT, "ne m envoyez plus"),
    ("Retirez-moi de votre liste", OPT_OUT, "retirez moi"),
    ("Je ne veux plus recevoir vos promos", OPT_OUT, "je ne veux plus recevoir"),
    ("plus de sms svp", OPT_OUT, "plus de sms svp"),
    ("je veux plus recevoir vos messages", OPT_OUT, "je veux plus recevoir"),
    # ambiguous: an opt-out word or fragment, not clearly a request
    ("don't stop the sale!", POSSIBLE_OPT_OUT, "stop"),
    ("too many texts lol", POSSIBLE_OPT_OUT, "too many texts"),
    ("who is this?", POSSIBLE_OPT_OUT, "who is this"),
    ("Who dis", POSSIBLE_OPT_OUT, "who dis"),
    ("wrong number", POSSIBLE_OPT_OUT, "wrong number"),
    ("How did you get my number??", POSSIBLE_OPT_OUT, None),
    ("I can't stop buying your candles 😂", POSSIBLE_OPT_OUT, "stop"),
    ("Please don't stop texting me, I love the deals", POSSIBLE_OPT_OUT, "stop texting"),
    ("don't unsubscribe me, I still want them", POSSIBLE_OPT_OUT, "unsubscribe me"),
    ("why did you stop sending me deals?", POSSIBLE_OPT_OUT, "stop sending"),
    ("lol stop", POSSIBLE_OPT_OUT, "stop"),
    ("I want to cancel my subscription", POSSIBLE_OPT_OUT, "cancel"),
    ("not interested", POSSIBLE_OPT_OUT, "not interested"),
    ("this is spam", POSSIBLE_OPT_OUT, "spam"),
    ("🛑", POSSIBLE_OPT_OUT, "stop emoji"),
    ("¿Quién es?", POSSIBLE_OPT_OUT, "quien es"),
    ("número equivocado", POSSIBLE_OPT_OUT, "numero equivocado"),
    ("No quiero darme de baja, solo preguntaba", POSSIBLE_OPT_OUT, "darme de baja"),
    ("Demasiados mensajes esta semana", POSSIBLE_OPT_OUT, "demasiados mensajes"),
    ("Qui est-ce ?", POSSIBLE_OPT_OUT, "qui est ce"),
    ("C'est qui ?", POSSIBLE_OPT_OUT, "c est qui"),
    ("Je ne veux pas me désabonner", POSSIBLE_OPT_OUT, "desabonner"),
    ("Trop de SMS cette semaine", POSSIBLE_OPT_OUT, "trop de sms"),
    ("Je veux plus de promos", POSSIBLE_OPT_OUT, "veux plus de promos"),  # "more promos", or spoken "no more"?
    # plain conversation
    ("stop by the store tomorrow?", NONE, ""),
    ("Can I stop by to pick up my order?", NONE, ""),
    ("Cancel my order please, wrong size", NONE, ""),
    ("Is the blue jacket back in stock?", NONE, ""),
    ("Thanks! Got it", NONE, ""),
    ("YES", NONE, ""),
    ("START", NONE, ""),
    ("HELP", NONE, ""),
    ("What time do you close on the weekend?", NONE, ""),
    ("See you at the end of the month", NONE, ""),
    ("The bus stop near your shop is closed", NONE, ""),
    ("¿Tienen la talla M en azul?", NONE, ""),
    ("Alto el fuego en el precio? jaja", NONE, ""),
    ("Para cuándo llega mi pedido?", NONE, ""),
    ("Merci, à bientôt !", NONE, ""),
    ("Il pleut sans arrêt ici", NONE, ""),
    ("Je suis à l'arrêt de bus", NONE, ""),
    ("", NONE, ""),
    ("👍", NONE, ""),
]


@pytest.mark.parametrize("body, keyword", KEYWORD_REPLIES)
def test_keywords_alone_are_opt_outs_whatever_the_case_and_punctuation(body, keyword):
    assert classify_reply(body) == (OPT_OUT, keyword)
    assert is_keyword(keyword)


@pytest.mark.parametrize("body, verdict, matched", REPLIES)
def test_replies_get_their_verdict(body, verdict, matched):
    got_verdict, got_matched = classify_reply(body)
    assert got_verdict == verdict, (body, got_verdict, got_matched)
    if matched is not None:
        assert got_matched == matched
    if verdict == NONE:
        assert got_matched == ""
    else:
        assert got_matched and len(got_matched) <= 64


def test_enough_cases_in_each_language_and_verdict():
    assert len(KEYWORD_REPLIES) + len(REPLIES) >= 60
    verdicts = {verdict for _, verdict, _ in REPLIES}
    assert verdicts == {OPT_OUT, POSSIBLE_OPT_OUT, NONE}


def test_phrases_are_not_keywords():
    """Only the CTIA/FCC words alone are keywords; everything else is a reply."""
    for body in ("please stop texting me", "ALTO", "ARRÊT", "STOP SVP", "stop please"):
        verdict, matched = classify_reply(body)
        assert verdict == OPT_OUT and not is_keyword(matched), body
    assert set(KEYWORDS.values()) >= {"STOP", "STOPALL", "QUIT", "END", "REVOKE", "OPT OUT", "OPTOUT", "CANCEL", "UNSUBSCRIBE"}


def test_normalize_folds_case_accents_and_clauses():
    assert normalize("ARRÊT!") == "arret"
    assert normalize("Don't stop. Ne m’envoyez") == "dont stop | ne m envoyez"
    assert normalize("  ¡¿STOP?!  ") == "stop"


def test_an_opt_out_is_never_lost_in_a_long_text():
    assert classify_reply("Stop texting me. " + "blah " * 5000)[0] == OPT_OUT
    assert classify_reply("x" * 100_000) == (NONE, "")

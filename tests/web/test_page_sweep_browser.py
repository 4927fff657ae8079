"""Every dashboard page in a real browser, at 1,280 px (a laptop) and 390 px (a phone), on a
store with something on every page: a small demo store (seed_demo) that also owns one of
everything (tests/tenant_world.py) and a text or profile in each state a page explains.

A page fails the sweep when
- the document is wider than the window, or a table, form, panel or card is wider than its
  container or sticks out of the page column. A table inside `.table-wrap` (the explicit
  sideways-scroll wrapper) may scroll on a phone, never on a laptop;
- it shows an empty state without saying why: a table body without rows, a list without
  items, a panel with nothing under its heading, an empty `.empty-note` (the class every
  "nothing here yet, because …" sentence carries);
- it shows a raw value (None, null, a JSON list or object) outside code and <pre>;
- it raises a JavaScript error.

VISITS names every dashboard URL it opens (some in several states), EXCLUDED every other URL
with the reason; test_every_dashboard_url_is_visited_or_excluded fails on a URL in neither,
so a new page can't be left out. Full-page screenshots of every visit are left in
artifacts/screenshots/ (1,280 px) and artifacts/screenshots/390/ for people to look at."""
from __future__ import annotations

import dataclasses
import datetime as dt
import os
from collections.abc import Callable
from pathlib import Path

import pytest
from django.urls import reverse
from url_catalog import url_names

os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

SHOTS = Path(__file__).resolve().parents[2] / "artifacts" / "screenshots"
PASSWORD = "correct-horse-battery"
OWNER = "merchant@sweep.test"  # build_world makes owner@sweep.test, without a password
WIDTHS = {"desktop": 1280, "phone": 390}


@dataclasses.dataclass(frozen=True)
class Visit:
    """One page in one state: `args(states)` the URL's arguments, `query` its query string."""

    label: str
    args: Callable[[dict], dict] | None = None
    query: str = ""
    logged_out: bool = False


def _of(name: str, key: str, attr: str = "pk") -> Callable[[dict], dict]:
    return lambda states: {key: getattr(states[name], attr)}


VISITS: dict[str, list[Visit]] = {
    "web:login": [Visit("login", logged_out=True)],
    "web:home": [Visit("home")],
    "web:profiles": [Visit("profiles"), Visit("profiles-no-match", query="q=nobody-is-called-this")],
    "web:profile": [Visit("profile", _of("profile", "profile_id")), Visit("profile-customer", _of("customer", "profile_id")),
                    Visit("profile-tagged", _of("tagged", "profile_id")), Visit("profile-erased", _of("erased", "profile_id"))],
    "web:profile_consent_proof": [Visit("consent-proof", _of("profile", "profile_id"))],
    "web:settings": [Visit("settings")],
    "web:api_keys": [Visit("api-keys")],
    "web:segments": [Visit("segments")],
    "web:campaigns": [Visit("campaigns")],
    "web:flows": [Visit("flows")],
    "web:growth": [Visit("sign-up-tools")],
    "web:analytics": [Visit("analytics")],
    "delivery:messages": [Visit("messages"), Visit("messages-no-match", query="phone=99999999")],
    "delivery:message": [Visit("message-sent", _of("message", "message_id")),
                         Visit("message-received", _of("inbound", "message_id")),
                         Visit("message-held", _of("held", "message_id")),
                         Visit("message-scheduled", _of("scheduled", "message_id")),
                         Visit("message-suppressed-country", _of("suppressed", "message_id")),
                         Visit("message-failed", _of("failed", "message_id"))],
    "delivery:inbox": [Visit("inbox"), Visit("inbox-possible-opt-outs", query="filter=possible_opt_out")],
    "delivery:conversation": [Visit("conversation", _of("profile", "profile_id"))],
    "delivery:phone": [Visit("phone"), Visit("phone-open", query="number=%2B12125550123")],
    "delivery:senders": [Visit("senders")],
    "delivery:compliance": [Visit("compliance")],
    "shopify:page": [Visit("shopify")],
    "imports:list": [Visit("imports")],
    "imports:detail": [Visit("import-mapping", _of("import_waiting", "import_id")),
                       Visit("import-mapping-wide", _of("import_wide", "import_id")),
                       Visit("import-report", _of("import_done", "import_id"))],
}

POST_ONLY = "an action (POST only): it redirects to, or re-renders, a page visited here"
FRAGMENT = "an htmx fragment swapped into a page visited here (its content is checked there)"
EXCLUDED: dict[str, str] = {
    "healthz": "JSON for monitoring, not a page",
    "web:logout": POST_ONLY,
    "web:switch_store": POST_ONLY,
    "web:profile_export": "a JSON download",
    "web:profile_erase": POST_ONLY,
    "web:profile_sms_consent": POST_ONLY,
    "web:api_key_create": POST_ONLY,
    "web:api_key_revoke": POST_ONLY,
    "delivery:conversation_thread": FRAGMENT,
    "delivery:conversation_reply": POST_ONLY,
    "delivery:conversation_sms_consent": POST_ONLY,
    "delivery:reply_not_opt_out": POST_ONLY,
    "delivery:phone_thread": FRAGMENT,
    "delivery:phone_send": POST_ONLY,
    "delivery:sender_fields": FRAGMENT,
    "delivery:sender_active": POST_ONLY,
    "delivery:sender_default": POST_ONLY,
    "delivery:sender_test": POST_ONLY,
    "shopify:connect": POST_ONLY,
    "shopify:disconnect": POST_ONLY,  # its confirmation is tested in tests/web/test_forms_browser.py
    "shopify:backfill_start": POST_ONLY,
    "shopify:backfill_progress": FRAGMENT,
    "shopify:backfill_resume": POST_ONLY,
    "shopify:delivery_retry": POST_ONLY,
    "shopify:data_request_export": "a JSON download",
    "imports:mapping": POST_ONLY,
    "imports:progress": FRAGMENT,
    "imports:retry": POST_ONLY,
    "imports:discard": POST_ONLY,
    "imports:rejected": "a CSV download",
    "snippet:js": "the storefront script, not a dashboard page",
    "snippet:track": "the storefront's public intake (JSON)",
    "snippet:identify": "the storefront's public intake (JSON)",
    "short_link": "a customer's short link: a redirect",
    "shopify_webhook": "a webhook for Shopify",
    "provider_receipt_webhook": "a webhook for providers",
    "provider_inbound_webhook": "a webhook for providers",
}
EXCLUDED_NAMESPACES = {
    "admin": "Django's admin, for superusers: not the dashboard",
    "api-v1": "the JSON API; its docs page is rendered by tests/web/test_api_docs_browser.py",
}

# Runs in the page: what is wrong with it, in words (an empty list when nothing is).
AUDIT = """(desktop) => {
  const problems = [];
  const visible = (el) => el.offsetParent !== null || getComputedStyle(el).position === 'fixed';
  const name = (el) => {
    const section = el.closest('section, .panel, form') || el;
    const heading = section.querySelector('h1, h2, caption, label, legend');
    const what = el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') + (el.classList.length ? '.' + [...el.classList].join('.') : '');
    return heading ? `${what} ("${heading.textContent.trim().slice(0, 40)}")` : what;
  };
  const root = document.documentElement;
  if (root.scrollWidth > root.clientWidth + 1) {
    // Name the culprit: the outermost element past the window's edge that nothing clips or scrolls.
    // An absolutely positioned element is clipped only by its containing block (its nearest
    // positioned ancestor) or what holds that, not by a scroll box in between.
    const clipped = (el) => {
      let from = el.parentElement;
      if (['absolute', 'fixed'].includes(getComputedStyle(el).position)) {
        while (from && getComputedStyle(from).position === 'static') from = from.parentElement;
      }
      for (let p = from; p; p = p.parentElement) if (getComputedStyle(p).overflowX !== 'visible') return true;
      return false;
    };
    const culprit = [...document.body.querySelectorAll('*')].find((el) => el.getBoundingClientRect().right > root.clientWidth + 1 && !clipped(el));
    problems.push(`the page is ${root.scrollWidth} px wide in a ${root.clientWidth} px window${culprit ? ', because of ' + name(culprit) : ''}`);
  }
  const main = document.querySelector('main') || document.body;
  const column = main.getBoundingClientRect();
  for (const table of main.querySelectorAll('table')) {
    if (!visible(table)) continue;
    const wrap = table.closest('.table-wrap');
    if (wrap) {
      if (desktop && wrap.scrollWidth > wrap.clientWidth + 1) problems.push(`${name(table)} needs sideways scrolling (${wrap.scrollWidth} px in ${wrap.clientWidth} px)`);
    } else if (table.offsetWidth > table.parentElement.clientWidth + 1) {
      problems.push(`${name(table)} is wider than its container (${table.offsetWidth} px in ${table.parentElement.clientWidth} px)`);
    }
    for (const body of table.tBodies) if (!body.rows.length) problems.push(`${name(table)} has an empty body and no explanation`);
  }
  for (const el of main.querySelectorAll('form, .panel, .card, .cards, .flash, .page-head, .form-grid, .filter-bar, .status-chips')) {
    if (!visible(el) || el.closest('.table-wrap')) continue;
    const scrolls = ['auto', 'scroll'].includes(getComputedStyle(el).overflowX);
    if (!scrolls && el.scrollWidth > el.clientWidth + 1) problems.push(`${name(el)} overflows (${el.scrollWidth} px in ${el.clientWidth} px)`);
    const box = el.getBoundingClientRect();
    if (box.right > column.right + 1 || box.left < column.left - 1) problems.push(`${name(el)} sticks out of the page column`);
  }
  for (const list of main.querySelectorAll('ul, ol')) {
    if (visible(list) && !list.querySelector('li')) problems.push(`${name(list)} is an empty list and says nothing`);
  }
  for (const panel of main.querySelectorAll('.panel')) {
    if (!visible(panel)) continue;
    const body = panel.cloneNode(true);
    body.querySelectorAll('.panel-head').forEach((head) => head.remove());
    if (!body.textContent.trim() && !body.querySelector('input, select, textarea, button, canvas, img, progress')) {
      problems.push(`${name(panel)} shows nothing under its heading`);
    }
  }
  for (const note of main.querySelectorAll('.empty-note')) if (visible(note) && !note.textContent.trim()) problems.push('an empty .empty-note');
  const texts = document.createTreeWalker(main, NodeFilter.SHOW_TEXT);
  while (texts.nextNode()) {
    const node = texts.currentNode, text = node.textContent.trim(), parent = node.parentElement;
    if (!text || !visible(parent) || parent.closest('pre, code, script, textarea, .mono')) continue;
    if (['None', 'null', 'undefined', 'NaN'].includes(text) || /^[\\[{]\\s*["\\[{]/.test(text)) {
      problems.push(`a raw value "${text.slice(0, 60)}" in ${name(parent)}`);
    }
  }
  return problems;
}"""


def test_every_dashboard_url_is_visited_or_excluded():
    names = url_names()
    covered = VISITS.keys() | EXCLUDED.keys()
    missing = sorted(name for name in names if name not in covered and name.split(":")[0] not in EXCLUDED_NAMESPACES)
    assert not missing, ("dashboard URLs the browser sweep neither visits nor excludes: " + ", ".join(
        f"{name} ({names[name]})" for name in missing) + ". Add each to VISITS (with the states worth seeing) or to "
        "EXCLUDED with the reason, in tests/web/test_page_sweep_browser.py.")
    stale = sorted(covered - names.keys())
    assert not stale, f"the sweep names URLs the site no longer serves: {stale}"


@pytest.fixture
def swept_store(transactional_db, settings, tmp_path, refusing_shopify):
    """The demo store, small, plus one of everything and the states the pages explain."""
    from django.test import Client
    from tenant_world import build_world

    from textpilot.delivery import claims, gating
    from textpilot.delivery import service as delivery
    from textpilot.delivery.models import Message, Status
    from textpilot.demo.seed import seed_demo
    from textpilot.integrations.imports import service as imports
    from textpilot.profiles import privacy
    from textpilot.profiles import service as profiles
    from textpilot.profiles.models import Profile

    settings.DATA_DIR = tmp_path / "data"
    store = seed_demo("sweep", profiles=120, orders=180, events=600, seed=7, user=OWNER, password=PASSWORD).store
    world = build_world(Client(), store, "SWEEP", refusing_shopify)
    now = dt.datetime.now(dt.timezone.utc)
    states = {name: getattr(world, name) for name in ("profile", "message", "inbound", "import_waiting", "import_done")}
    states["customer"] = Profile.objects.filter(store=store, external_id__startswith="demo-", sms_status="subscribed",
                                                first_name__gt="").order_by("pk").first()
    states["tagged"] = profiles.create_profile(store, phone="+13125550177", first_name="Tia", last_name="Tagg",
                                               properties={"tags": ["vip", "hiking", "newsletter"], "newsletter": True})
    gone = profiles.create_profile(store, phone="+13125550178", first_name="Gone", email="gone@example.com")
    profiles.record_consent(store, gone, "subscribed", "popup", consent_text="Reply STOP to cancel.")
    states["erased"] = privacy.erase_profile(store, gone)

    subscribed = states["customer"]
    held = delivery.send_message(store, profile=subscribed, body="Weekend sale: 20% off tents", kind="marketing",
                                 origin="campaign")
    Message.objects.filter(pk=held.pk).update(hold_rule="quiet_hours:store", send_after=now + dt.timedelta(hours=9),
                                              status_reason="held until 08:00 America/New_York (quiet hours, the "
                                                            "store's sending window 08:00–21:00)")
    states["held"] = held
    states["scheduled"] = delivery.send_message(store, to="+13125550179", body="Your table for 4 is ready at 7 pm",
                                                send_after=now + dt.timedelta(days=2))
    failed = delivery.send_message(store, to="+13125550180", body="Your order #1042 has shipped")
    Message.objects.filter(pk=failed.pk).update(status=Status.FAILED, error_code="30003",
                                                status_reason="unreachable destination handset")
    states["failed"] = failed
    # A country the demo store does not text (it allows its customers' 8), through the real gate.
    abroad = delivery.create_sender(store, name="Sim abroad", provider="sim", from_number="73302", number_type="short_code")
    brazil = profiles.create_profile(store, phone="+5511961234567", first_name="Bruna")
    profiles.record_consent(store, brazil, "subscribed", "popup", consent_text="Reply STOP to cancel.")
    states["suppressed"] = delivery.send_message(store, profile=brazil, body="Winter sale!", kind="marketing",
                                                 origin="campaign", sender=abroad)
    later = dt.datetime.now(dt.timezone.utc)
    token, claimed = claims.claim_due(abroad.pk, 10, "sweep", now=later)
    claims.apply_gate(token, claimed, gating.gate_batch(claimed, later), later)
    states["suppressed"].refresh_from_db()
    assert states["suppressed"].status == Status.SUPPRESSED, states["suppressed"].status_reason
    # An upload with many columns and long values: the mapping preview must still fit.
    header = "Phone Number,Email Address,First Name,Last Name,Street Address,City,Postal Code,Country,Tags," \
             "SMS Consent,Consent Date,Favourite Product,Notes\n"
    row = "+13125550181,very.long.name.for.an.email@example-shop-domain.example.com,Maximiliana,Featherstonehaugh-Smythe," \
          "1234 North Very Long Avenue Apartment 56B,San Francisco,94110,US,\"vip,hiking,winter-sale-2025\",yes," \
          "2025-11-30T18:45:00Z,Ultralight Two-Person Backpacking Tent with Footprint,Asked for a callback about sizes\n"
    from django.core.files.uploadedfile import SimpleUploadedFile

    upload = SimpleUploadedFile("shop-export-with-many-columns.csv", (header + row * 3).encode(), content_type="text/csv")
    states["import_wide"] = imports.create_import(store, upload, upload.name)
    return states


def _url(live_server, name: str, visit: Visit, states: dict) -> str:
    path = reverse(name, kwargs=visit.args(states) if visit.args else None)
    return live_server.url + path + (f"?{visit.query}" if visit.query else "")


@pytest.mark.browser
def test_every_dashboard_page_fits_and_explains_itself(live_server, swept_store, browser):
    (SHOTS / "390").mkdir(parents=True, exist_ok=True)
    problems: list[str] = []
    errors: list[str] = []  # JavaScript errors of the page being checked
    for mode, width in WIDTHS.items():
        context = browser.new_context(viewport={"width": width, "height": 900})
        page = context.new_page()
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        logged_in = False
        for name, visits in VISITS.items():
            for visit in visits:
                if not visit.logged_out and not logged_in:
                    page.goto(live_server.url + reverse("web:login"))
                    page.fill("input[name=username]", OWNER)
                    page.fill("input[name=password]", PASSWORD)
                    page.click("button[type=submit]")
                    page.wait_for_url(live_server.url + "/")
                    logged_in = True
                response = page.goto(_url(live_server, name, visit, swept_store), wait_until="load")
                where = f"{visit.label} at {width} px"
                if response is None or response.status != 200:
                    problems.append(f"{where}: answered {response.status if response else 'nothing'}")
                    continue
                page.wait_for_timeout(150)  # htmx settles, the chart draws
                problems += [f"{where}: {problem}" for problem in page.evaluate(AUDIT, mode == "desktop")]
                problems += [f"{where}: JavaScript error {error}" for error in errors]
                errors.clear()
                shot = SHOTS / (f"{visit.label}.png" if mode == "desktop" else f"390/{visit.label}.png")
                page.screenshot(path=str(shot), full_page=True)
        context.close()
    assert not problems, f"{len(problems)} problems (screenshots in {SHOTS}):\n" + "\n".join(problems)


BROKEN_PAGE = """<html><body><main style="width: 600px">
  <section class="panel"><div class="panel-head"><h2>Orders</h2></div>
    <table><thead><tr><th>Order</th></tr></thead><tbody></tbody></table></section>
  <section class="panel"><div class="panel-head"><h2>Nothing</h2></div></section>
  <section class="panel"><div class="panel-head"><h2>Wide</h2></div>
    <div class="table-wrap" style="overflow-x: auto"><table style="width: 900px"><tbody><tr><td>x</td></tr></tbody></table></div></section>
  <form style="width: 800px"><input style="width: 780px"></form>
  <ul></ul><p class="empty-note"> </p><dl><dd>["vip", "hiking"]</dd><dd>None</dd></dl>
</main></body></html>"""


@pytest.mark.browser
def test_the_audit_finds_what_it_looks_for(browser):
    """The sweep's checks fire on a page that breaks each rule (else a clean sweep proves nothing)."""
    page = browser.new_page(viewport={"width": 700, "height": 600})
    page.set_content(BROKEN_PAGE)
    found = "\n".join(page.evaluate(AUDIT, True))
    for expected in ('table ("Orders") has an empty body', 'section.panel ("Nothing") shows nothing under its heading',
                     'table ("Wide") needs sideways scrolling', "form sticks out of the page column", "is an empty list",
                     "an empty .empty-note", 'a raw value "["vip", "hiking"]"', 'a raw value "None"'):
        assert expected in found, (expected, found)
    assert "needs sideways scrolling" not in "\n".join(page.evaluate(AUDIT, False))  # allowed on a phone

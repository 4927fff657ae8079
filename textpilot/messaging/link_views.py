"""GET /l/<code>: the short link a recipient taps. 302 to the target, and a click is counted
unless the request comes from a link previewer or crawler (iMessage, WhatsApp, Slack… fetch
a link the moment a text arrives, before anyone taps it).

Answered for any Host: codes are globally unique, so the code alone names the link (and its
store), whichever store domain the request came in on. Store domains must be listed in
TEXTPILOT_ALLOWED_HOSTS for Django to accept them."""
import re

import structlog
from django.http import HttpRequest, HttpResponse, HttpResponseNotFound, HttpResponseRedirect
from django.template.loader import render_to_string
from django.views.decorators.http import require_http_methods

from textpilot.messaging import links

log = structlog.get_logger(__name__)

# Link previewers and crawlers by user agent. iMessage's preview announces itself as
# "facebookexternalhit/1.1 Facebot Twitterbot/1.0". The generic words catch most others;
# "(?<!cu)bot" spares the Cubot phone brand. HTTP libraries (curl, python-requests…) are
# scripts and scanners, not people.
BOT_USER_AGENT_RE = re.compile(
    r"facebookexternalhit|facebot|twitterbot|slackbot|whatsapp|telegrambot|googlebot|bingbot|skypeuripreview"
    r"|discordbot|applebot|linkedinbot|(?<!cu)bot(?![a-z])|crawler|spider|preview|prefetch"
    r"|^curl/|^wget/|python-requests|python-urllib|go-http-client|^java/|libwww-perl|headlesschrome",
    re.IGNORECASE,
)


def is_bot(request: HttpRequest) -> bool:
    """Not a person tapping a link: a previewer, a crawler, a prefetch or a HEAD request."""
    if request.method == "HEAD":
        return True
    user_agent = request.headers.get("User-Agent", "").strip()
    if not user_agent:  # every phone browser sends one; scanners often don't
        return True
    purpose = (request.headers.get("Sec-Purpose") or request.headers.get("Purpose") or request.headers.get("X-Purpose") or "").lower()
    if "prefetch" in purpose or "preview" in purpose:
        return True
    return bool(BOT_USER_AGENT_RE.search(user_agent))


@require_http_methods(["GET", "HEAD"])
def follow_short_link(request: HttpRequest, code: str) -> HttpResponse:
    link = links.find_link(code)
    if link is None or not link.target_url:  # unknown, or erased on the recipient's request
        return HttpResponseNotFound(render_to_string("messaging/link_not_found.html", request=request))
    if not is_bot(request):
        try:
            links.record_click(link)
        except Exception:  # the customer gets their page even if counting failed
            log.exception("links.click_not_recorded", code=link.code)
    response = HttpResponseRedirect(link.target_url)  # refuses anything but http(s)/ftp targets
    # Every tap must reach us to be counted; the recipient's link is nobody else's business.
    response["Cache-Control"] = "private, no-store"
    response["Referrer-Policy"] = "no-referrer"
    response["X-Robots-Tag"] = "noindex, nofollow"
    return response

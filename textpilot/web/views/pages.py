"""Sections that arrive later: a clear "coming soon" page saying what each will do."""
from django.http import Http404

from textpilot.common.dashboard import dashboard_view, page

SECTIONS = {
    "segments": {
        "title": "Segments",
        "lead": "Group customers by what they spent, ordered, where they live and how they joined.",
        "points": [
            "AND/OR conditions on money spent, number of orders, order windows, country, opt-in source and abandoned checkouts.",
            "Ready-made segments: all SMS subscribers, engaged, VIP, high purchase intent, budget shoppers, by keyword or language.",
        ],
    },
    "campaigns": {
        "title": "Campaigns",
        "lead": "One-off texts to everyone or to chosen segments, sent now or scheduled.",
        "points": [
            "SMS or MMS with merge tags: first name, store name, discount code and URL, order and shipping details.",
            "A/B variants and a resumable send that never texts anyone twice.",
        ],
    },
    "flows": {
        "title": "Flows",
        "lead": "Automations triggered by what customers do, chained into flows with conditional splits.",
        "points": [
            "Welcome, abandoned cart, upsell, winback, order created, paid, shipped and delivered.",
            "Send times in the store's time zone, and a test send before going live.",
        ],
    },
    "growth": {
        "title": "Sign-up tools",
        "lead": "Grow the list of text subscribers, with the proof of consent kept for every one of them.",
        "points": [
            "Popups on the store (scroll depth, delay, exit intent) with the required consent text.",
            "Keywords texted to the store's number, and social links and QR codes that open the SMS app.",
        ],
    },
    "analytics": {
        "title": "Analytics",
        "lead": "How much revenue each text brought back, and what it cost.",
        "points": [
            "Revenue, orders and ROI by campaign, automation and flow over a chosen period.",
            "Delivery rate, clicks, opt-outs and top customers, as graphs and tables.",
        ],
    },
}


@dashboard_view
def coming_soon(request, section: str):
    info = SECTIONS.get(section)
    if info is None:
        raise Http404("no such section")
    return page(request, "web/coming_soon.html", section, section=info)

"""Small hand-made lists the demo generator draws from: countries, names, cities, products.

Plain tuples (no Faker: it is far too slow for a million rows). Everything a generated row
needs is looked up here once, so the hot loop only indexes lists.

Safety: emails use the reserved example.com/.net/.org domains and IPs the documentation
ranges (RFC 5737 / RFC 3849), so a demo row can never reach a real mailbox or host. Phone
numbers must be *valid* for the product to accept them, so they are real-looking mobile
numbers; the demo store has no sender number, and nothing should ever be sent from it.
"""
from dataclasses import dataclass

BRAND = "Demo Outdoor Co."
SENDER_NAME = "Demo Outdoor"
SHOP_URL = "https://demo-outdoor.example.com"
SUPPORT_EMAIL = "support@demo-outdoor.example.com"


@dataclass(frozen=True)
class City:
    name: str
    latitude: float
    longitude: float
    timezone: str
    utc_offset: int  # standard-time hours; only used to put activity in local daytime
    area_code: str = ""  # NANP cities: numbers get the city's area code
    region: str = ""  # state or province code: the address state the gate's state rules read


@dataclass(frozen=True)
class Country:
    code: str
    weight: float
    languages: tuple[tuple[str, float], ...]
    cities: tuple[City, ...]
    carriers: tuple[tuple[str, str], ...]  # (carrier, tracking URL with {n})
    email_domains: tuple[str, ...]


ENGLISH_FEMALE = (
    "Emma", "Olivia", "Ava", "Sophia", "Mia", "Charlotte", "Amelia", "Harper", "Evelyn", "Abigail",
    "Emily", "Ella", "Grace", "Chloe", "Lily", "Hannah", "Zoe", "Nora", "Ruby", "Isla",
)
ENGLISH_MALE = (
    "Liam", "Noah", "Oliver", "Elijah", "James", "William", "Benjamin", "Lucas", "Henry", "Jack",
    "Mason", "Ethan", "Daniel", "Samuel", "Owen", "Leo", "Thomas", "Harry", "Oscar", "Ryan",
)
ENGLISH_LAST = (
    "Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Wilson", "Taylor",
    "Anderson", "Thomas", "Moore", "Martin", "Lee", "Walker", "Hall", "Young", "King", "Wright",
    "Scott", "Green", "Baker", "Adams", "Nelson", "Hill", "Campbell", "Mitchell", "Roberts", "Carter",
)
FRENCH_FEMALE = ("Camille", "Léa", "Manon", "Chloé", "Inès", "Jade", "Louise", "Alice", "Juliette", "Emma", "Zoé", "Margaux")
FRENCH_MALE = ("Louis", "Gabriel", "Hugo", "Arthur", "Jules", "Lucas", "Raphaël", "Nathan", "Théo", "Léo", "Paul", "Mathis")
FRENCH_LAST = (
    "Martin", "Bernard", "Dubois", "Thomas", "Robert", "Richard", "Petit", "Durand", "Leroy", "Moreau",
    "Simon", "Laurent", "Lefèvre", "Michel", "Garcia", "Fournier", "Gagnon", "Roy", "Tremblay", "Côté",
)
GERMAN_FEMALE = ("Mia", "Emilia", "Hannah", "Sofia", "Lina", "Marie", "Lea", "Clara", "Anna", "Greta", "Lena", "Johanna")
GERMAN_MALE = ("Noah", "Leon", "Paul", "Finn", "Elias", "Felix", "Jonas", "Lukas", "Maximilian", "Moritz", "Jan", "Tobias")
GERMAN_LAST = (
    "Müller", "Schmidt", "Schneider", "Fischer", "Weber", "Meyer", "Wagner", "Becker", "Schulz", "Hoffmann",
    "Schäfer", "Koch", "Bauer", "Richter", "Klein", "Wolf", "Schröder", "Neumann", "Schwarz", "Zimmermann",
)
# (native script, romanised for the email address)
KOREAN_FEMALE = (("서연", "seoyeon"), ("지우", "jiwoo"), ("하은", "haeun"), ("민지", "minji"), ("수아", "sua"), ("지민", "jimin"), ("예은", "yeeun"), ("유나", "yuna"))
KOREAN_MALE = (("민준", "minjun"), ("서준", "seojun"), ("도윤", "doyun"), ("예준", "yejun"), ("시우", "siwoo"), ("하준", "hajun"), ("지호", "jiho"), ("현우", "hyunwoo"))
KOREAN_LAST = (("김", "kim"), ("이", "lee"), ("박", "park"), ("최", "choi"), ("정", "jung"), ("강", "kang"), ("조", "cho"), ("윤", "yoon"), ("장", "jang"), ("임", "lim"))
ARABIC_FEMALE = (("فاطمة", "fatima"), ("مريم", "maryam"), ("نورة", "noura"), ("سارة", "sara"), ("ليلى", "layla"), ("عائشة", "aisha"), ("هند", "hind"), ("ريم", "reem"))
ARABIC_MALE = (("محمد", "mohammed"), ("أحمد", "ahmed"), ("خالد", "khalid"), ("عمر", "omar"), ("سعيد", "saeed"), ("راشد", "rashid"), ("يوسف", "yousef"), ("حمدان", "hamdan"))
ARABIC_LAST = (("المنصوري", "almansoori"), ("الهاشمي", "alhashimi"), ("الشامسي", "alshamsi"), ("الكعبي", "alkaabi"), ("النعيمي", "alnuaimi"), ("المزروعي", "almazrouei"), ("الظاهري", "aldhaheri"), ("السويدي", "alsuwaidi"))


def _plain(names):
    return tuple((n, n) for n in names)


# language -> (female, male, last): each a tuple of (display, romanised)
NAMES = {
    "en": (_plain(ENGLISH_FEMALE), _plain(ENGLISH_MALE), _plain(ENGLISH_LAST)),
    "fr": (_plain(FRENCH_FEMALE), _plain(FRENCH_MALE), _plain(FRENCH_LAST)),
    "de": (_plain(GERMAN_FEMALE), _plain(GERMAN_MALE), _plain(GERMAN_LAST)),
    "ko": (KOREAN_FEMALE, KOREAN_MALE, KOREAN_LAST),
    "ar": (ARABIC_FEMALE, ARABIC_MALE, ARABIC_LAST),
}

_US_CARRIERS = (
    ("UPS", "https://www.ups.com/track?tracknum={n}"),
    ("USPS", "https://tools.usps.com/go/TrackConfirmAction?tLabels={n}"),
    ("FedEx", "https://www.fedex.com/fedextrack/?trknbr={n}"),
)
_EXAMPLE_DOMAINS = ("example.com", "example.net", "example.org")

COUNTRIES: tuple[Country, ...] = (
    Country("US", 0.45, (("en", 0.9), ("es", 0.1)), (
        City("New York", 40.7128, -74.0060, "America/New_York", -5, "212", "NY"),
        City("Los Angeles", 34.0522, -118.2437, "America/Los_Angeles", -8, "213", "CA"),
        City("Chicago", 41.8781, -87.6298, "America/Chicago", -6, "312", "IL"),
        City("Denver", 39.7392, -104.9903, "America/Denver", -7, "303", "CO"),
        City("Seattle", 47.6062, -122.3321, "America/Los_Angeles", -8, "206", "WA"),
        City("Austin", 30.2672, -97.7431, "America/Chicago", -6, "512", "TX"),
        City("Boston", 42.3601, -71.0589, "America/New_York", -5, "617", "MA"),
        City("Phoenix", 33.4484, -112.0740, "America/Phoenix", -7, "602", "AZ"),
        City("Miami", 25.7617, -80.1918, "America/New_York", -5, "305", "FL"),
        City("Portland", 45.5152, -122.6784, "America/Los_Angeles", -8, "503", "OR"),
    ), _US_CARRIERS, _EXAMPLE_DOMAINS),
    Country("CA", 0.10, (("en", 0.75), ("fr", 0.25)), (
        City("Toronto", 43.6532, -79.3832, "America/Toronto", -5, "416", "ON"),
        City("Vancouver", 49.2827, -123.1207, "America/Vancouver", -8, "604", "BC"),
        City("Montreal", 45.5019, -73.5674, "America/Toronto", -5, "514", "QC"),
        City("Calgary", 51.0447, -114.0719, "America/Edmonton", -7, "403", "AB"),
    ), (("Canada Post", "https://www.canadapost-postescanada.ca/track-reperage/en#/details/{n}"),), _EXAMPLE_DOMAINS),
    Country("GB", 0.12, (("en", 1.0),), (
        City("London", 51.5074, -0.1278, "Europe/London", 0),
        City("Manchester", 53.4808, -2.2426, "Europe/London", 0),
        City("Edinburgh", 55.9533, -3.1883, "Europe/London", 0),
        City("Bristol", 51.4545, -2.5879, "Europe/London", 0),
    ), (("Royal Mail", "https://www.royalmail.com/track-your-item#/tracking-results/{n}"),), _EXAMPLE_DOMAINS),
    Country("AU", 0.08, (("en", 1.0),), (
        City("Sydney", -33.8688, 151.2093, "Australia/Sydney", 10),
        City("Melbourne", -37.8136, 144.9631, "Australia/Melbourne", 10),
        City("Brisbane", -27.4698, 153.0251, "Australia/Brisbane", 10),
        City("Perth", -31.9505, 115.8605, "Australia/Perth", 8),
    ), (("Australia Post", "https://auspost.com.au/mypost/track/#/details/{n}"),), _EXAMPLE_DOMAINS),
    Country("DE", 0.08, (("de", 0.9), ("en", 0.1)), (
        City("Berlin", 52.5200, 13.4050, "Europe/Berlin", 1),
        City("Munich", 48.1351, 11.5820, "Europe/Berlin", 1),
        City("Hamburg", 53.5511, 9.9937, "Europe/Berlin", 1),
        City("Cologne", 50.9375, 6.9603, "Europe/Berlin", 1),
    ), (("DHL", "https://www.dhl.de/de/privatkunden/pakete-empfangen/verfolgen.html?piececode={n}"),), _EXAMPLE_DOMAINS),
    Country("FR", 0.07, (("fr", 0.95), ("en", 0.05)), (
        City("Paris", 48.8566, 2.3522, "Europe/Paris", 1),
        City("Lyon", 45.7640, 4.8357, "Europe/Paris", 1),
        City("Marseille", 43.2965, 5.3698, "Europe/Paris", 1),
        City("Toulouse", 43.6047, 1.4442, "Europe/Paris", 1),
    ), (("Colissimo", "https://www.laposte.fr/outils/suivre-vos-envois?code={n}"),), _EXAMPLE_DOMAINS),
    Country("KR", 0.05, (("ko", 0.95), ("en", 0.05)), (
        City("Seoul", 37.5665, 126.9780, "Asia/Seoul", 9),
        City("Busan", 35.1796, 129.0756, "Asia/Seoul", 9),
        City("Incheon", 37.4563, 126.7052, "Asia/Seoul", 9),
        City("Daegu", 35.8714, 128.6014, "Asia/Seoul", 9),
    ), (("CJ Logistics", "https://trace.cjlogistics.com/next/tracking.html?wblNo={n}"),), _EXAMPLE_DOMAINS),
    Country("AE", 0.05, (("ar", 0.6), ("en", 0.4)), (
        City("Dubai", 25.2048, 55.2708, "Asia/Dubai", 4),
        City("Abu Dhabi", 24.4539, 54.3773, "Asia/Dubai", 4),
        City("Sharjah", 25.3463, 55.4209, "Asia/Dubai", 4),
    ), (("Aramex", "https://www.aramex.com/track/results?ShipmentNumber={n}"),), _EXAMPLE_DOMAINS),
)

# Spanish speakers in the US get English-list names: the language is what matters for texts.
NAME_LANGUAGE = {"es": "en"}

# (title, price in cents, collection)
PRODUCTS: tuple[tuple[str, int, str], ...] = (
    ("Summit 2-Person Backpacking Tent", 32900, "tents"),
    ("Basecamp 4-Person Dome Tent", 44900, "tents"),
    ("Ultralight Trekking Tarp", 12900, "tents"),
    ("Trail Bivy Sack", 15900, "tents"),
    ("Alpine 20°F Down Sleeping Bag", 27900, "sleep"),
    ("Campfire 40°F Synthetic Sleeping Bag", 8900, "sleep"),
    ("Self-Inflating Sleeping Pad", 7900, "sleep"),
    ("Inflatable Camp Pillow", 2900, "sleep"),
    ("Ridgeline 45L Backpack", 18900, "packs"),
    ("Daytripper 22L Pack", 7900, "packs"),
    ("Hydration Pack 12L", 6900, "packs"),
    ("Waterproof Dry Bag Set", 3900, "packs"),
    ("Trailblazer Hiking Boots", 17900, "footwear"),
    ("Trail Runner Shoes", 13900, "footwear"),
    ("Camp Sandals", 4900, "footwear"),
    ("Merino Hiking Socks 3-Pack", 3400, "footwear"),
    ("Stormshell Rain Jacket", 19900, "apparel"),
    ("Packable Down Jacket", 22900, "apparel"),
    ("Fleece Quarter-Zip", 7900, "apparel"),
    ("Merino Base Layer Top", 8900, "apparel"),
    ("Convertible Hiking Pants", 7400, "apparel"),
    ("Sun Hoodie UPF 50", 5900, "apparel"),
    ("Wide-Brim Trail Hat", 3900, "apparel"),
    ("Insulated Gloves", 4900, "apparel"),
    ("Titanium Camp Stove", 5900, "cooking"),
    ("Cookset for Two", 6900, "cooking"),
    ("Insulated Camp Mug", 2400, "cooking"),
    ("Water Filter Bottle", 4400, "cooking"),
    ("Collapsible Water Jug 10L", 2900, "cooking"),
    ("Freeze-Dried Meal Variety Pack", 5400, "cooking"),
    ("Rechargeable Headlamp 400lm", 4900, "essentials"),
    ("Carbon Trekking Poles", 12900, "essentials"),
    ("Compact First Aid Kit", 3400, "essentials"),
    ("Solar Power Bank 20000mAh", 6400, "essentials"),
    ("Multi-Tool 14-in-1", 5900, "essentials"),
    ("Hammock with Tree Straps", 6900, "essentials"),
    ("Camp Chair Lite", 8900, "essentials"),
    ("Bear-Resistant Food Canister", 8400, "essentials"),
    ("Emergency Bivvy Blanket", 1900, "essentials"),
    ("Gift Card $50", 5000, "gift-cards"),
)

ACTIVITIES = ("hiking", "camping", "trail running", "climbing", "backpacking", "kayaking", "fishing", "skiing")

# Where people signed up, limited to what textpilot can record today: the store's own web
# forms (a popup, the checkout box) reporting consent with its evidence through the API, and a
# CSV import from a previous provider. No keyword sign-ups ("text JOIN"): textpilot answers no
# JOIN yet, so the demo must not claim them (START after a STOP is real and stays).
PROFILE_SOURCES = (("popup", 0.55), ("checkout", 0.30), ("import", 0.15))
STOP_WORDS = ("STOP", "STOP", "Stop", "stop", "UNSUBSCRIBE", "STOPALL")

DISCOUNT_CODES = (("WELCOME10", 10), ("SUMMER15", 15), ("WINBACK20", 20), ("TRAIL10", 10), ("VIP25", 25))
CAMPAIGNS = ("Spring Gear Drop", "Memorial Day Sale", "Summer Trails", "Back to Camp", "Black Friday Early Access",
             "Holiday Gift Guide", "New Year Reset", "Winback: We Miss You", "Abandoned Cart Reminder", "Welcome Series")
PAGES = ("/", "/collections/tents", "/collections/sleep", "/collections/packs", "/collections/footwear",
         "/collections/apparel", "/collections/cooking", "/collections/essentials", "/pages/trail-guides", "/blogs/journal")

USER_AGENTS = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 16_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/16.6 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Mobile Safari/537.36",
    "Mozilla/5.0 (Linux; Android 13; SM-S911B) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/125.0.0.0 Mobile Safari/537.36",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Safari/605.1.15",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 Instagram 334.0.0.42.95",
)
# Documentation address ranges only (RFC 5737, RFC 3849).
IPV4_PREFIXES = ("192.0.2.", "198.51.100.", "203.0.113.")
IPV6_PREFIX = "2001:db8::"


def consent_texts(brand: str) -> dict[str, str]:
    """The exact disclosure shown for each opt-in source (kept verbatim as evidence)."""
    terms = "Msg & data rates may apply. Msg frequency varies. Reply HELP for help and STOP to cancel."
    return {
        "popup": (
            f"By submitting this form, you agree to receive recurring automated marketing text messages "
            f"(e.g. cart reminders) from {brand} at the number provided. Consent is not a condition of purchase. {terms}"
        ),
        "checkout": (
            f"Text me with news and offers. By checking this box, you agree to receive recurring automated "
            f"marketing text messages from {brand} at the number provided. Consent is not a condition of purchase. {terms}"
        ),
        "start": (  # what the customer is told after texting START (the store's START reply)
            f"{brand}: You are subscribed again to recurring automated marketing texts at this number. {terms}"
        ),
        "import": (
            f"Imported from the previous SMS provider of {brand}; consent was collected with the disclosure: "
            f"\"You agree to receive recurring automated marketing texts. Consent is not a condition of purchase. {terms}\""
        ),
    }

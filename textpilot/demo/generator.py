"""Deterministic demo rows: the same plan (seed, sizes, anchor time) gives the same rows.

Pure Python, no Django: the generator yields chunks of plain tuples (one list per table, in
the column order of the *_FIELDS tuples below) and the writers put them in the database.
Nothing is held for more than one chunk of profiles, so memory stays flat at any size; the
only whole-run state is three small arrays (signup time, buying and browsing weight per
profile, 24 bytes a profile) that a first pass draws so that exactly `orders` orders and
`events` events are spread over the profiles with a heavy tail (systematic sampling over
integer weights: exact totals, no rounding drift).

Ids: profiles and orders get ids from blocks the loader reserved (children need them);
the other tables use their database default.

Timestamps are whole seconds, written as text the database parses ("YYYY-MM-DD HH:MM:SS"
plus `ts_suffix`, "+00" on PostgreSQL, "" on SQLite which stores naive UTC like Django).
"""
import bisect
import json
import math
import random
import unicodedata
from array import array
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

import phonenumbers
from phonenumbers import PhoneNumber, PhoneNumberType

from textpilot.demo import catalog

PROFILE_FIELDS = (
    "id", "store_id", "phone", "email", "external_id", "first_name", "last_name", "gender", "language", "country",
    "region", "city", "latitude", "longitude", "timezone", "properties", "source", "created_at", "updated_at", "sms_status",
    "sms_status_at", "sms_opted_out_at",
)
# commerce.CustomerStats: one row per profile with at least one order (the commerce rule).
STATS_FIELDS = (
    "profile_id", "store_id", "orders_count", "total_spent", "average_order_value", "first_order_at", "last_order_at",
    "currency", "other_currency_orders",
)
CONSENT_FIELDS = (
    "store_id", "profile_id", "channel", "status", "phone", "source", "keyword", "ip_address", "user_agent",
    "consent_text", "occurred_at", "recorded_at", "basis",
)
ORDER_FIELDS = (
    "id", "store_id", "profile_id", "external_id", "order_number", "total", "currency", "payment_status",
    "fulfillment_status", "discount_codes", "shipping", "source", "placed_at", "cancelled_at", "source_updated_at",
    "created_at",
)
LINE_FIELDS = ("store_id", "order_id", "product_id", "title", "sku", "quantity", "price")
CHECKOUT_FIELDS = (
    "store_id", "profile_id", "external_id", "total", "currency", "checkout_url", "status", "line_items",
    "started_at", "completed_at", "order_id",
)
EVENT_FIELDS = ("store_id", "profile_id", "name", "properties", "occurred_at", "idempotency_key", "source", "recorded_at")

# Customer stats count these (the rule of commerce.stats; repeated here because this module
# must not import Django models). Every demo order is in the store's currency.
COUNTED_PAYMENT_STATUSES = frozenset({"pending", "authorized", "paid", "partially_refunded"})
PAYMENT_STATUSES = (("paid", 0.84), ("pending", 0.03), ("authorized", 0.03), ("partially_refunded", 0.03), ("refunded", 0.04), ("voided", 0.03))

DAY = 86400
HOUR = 3600


@dataclass(frozen=True)
class ProductRef:
    id: int
    title: str
    price_cents: int
    sku: str
    url: str


@dataclass
class Plan:
    store_id: int
    profiles: int
    orders: int
    events: int
    seed: int
    now: datetime  # anchor: data spans the two years before it
    products: list[ProductRef]
    first_profile_id: int = 1
    first_order_id: int = 1
    brand: str = catalog.BRAND
    currency: str = "USD"
    ts_suffix: str = ""
    years: float = 2.0


@dataclass
class Chunk:
    profiles: list = field(default_factory=list)
    stats: list = field(default_factory=list)
    consents: list = field(default_factory=list)
    orders: list = field(default_factory=list)
    lines: list = field(default_factory=list)
    checkouts: list = field(default_factory=list)
    events: list = field(default_factory=list)

    def tables(self):
        """(name, rows) in foreign-key order: parents before children."""
        return (("profiles", self.profiles), ("customer_stats", self.stats), ("consent_events", self.consents),
                ("orders", self.orders), ("order_lines", self.lines), ("checkouts", self.checkouts), ("events", self.events))


def money(cents: int) -> str:
    return f"{cents // 100}.{cents % 100:02d}"


def average_cents(total_cents: int, count: int) -> int:
    """total/count rounded half-to-even to the cent, like Decimal.quantize in commerce.service."""
    q, r = divmod(total_cents, count)
    if 2 * r > count or (2 * r == count and q % 2):
        q += 1
    return q


def _ascii(text: str) -> str:
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower().replace(" ", "").replace("'", "")


class PhoneBook:
    """Unique valid mobile numbers per (region, prefix), deterministically.

    A number is prefix + 3 varied digits + 4 suffix digits; the blocks of 10,000 are visited
    in a seeded order and the suffixes in a fixed permutation, so no set of issued numbers
    is needed to keep them unique. Every number is checked with phonenumbers (valid for its
    region and a mobile-capable type) before it is handed out; a failing block is skipped."""

    def __init__(self, seed: int):
        self._seed = seed
        self._books: dict[tuple[str, str], list] = {}

    def _book(self, region: str, prefix: str):
        key = (region, prefix)
        book = self._books.get(key)
        if book is None:
            example = phonenumbers.example_number_for_type(region, PhoneNumberType.MOBILE)
            if not prefix:
                nsn = phonenumbers.national_significant_number(example)
                prefix = nsn[: len(nsn) - 7]
            blocks = [f"{prefix}{n:03d}" for n in range(1000)]
            random.Random(f"phones:{self._seed}:{region}:{prefix}").shuffle(blocks)
            book = self._books[key] = [example.country_code, blocks, 0, {}]
        return book

    def next(self, region: str, prefix: str = "") -> str:
        book = self._book(region, prefix)
        country_code, blocks, _, block_ok = book
        while True:
            j = book[2]
            book[2] = j + 1
            block, position = divmod(j, 10000)
            if block >= len(blocks):
                raise RuntimeError(f"demo phone numbers for {region} {prefix} exhausted")
            if block_ok.get(block) is False:
                book[2] = (block + 1) * 10000
                continue
            nsn = f"{blocks[block]}{(position * 7919 + block) % 10000:04d}"
            number = PhoneNumber(country_code=country_code, national_number=int(nsn))
            if block not in block_ok:
                # The first number decides whether the block is a mobile range at all.
                block_ok[block] = phonenumbers.is_valid_number_for_region(number, region) and phonenumbers.number_type(
                    number) in (PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE_OR_MOBILE)
                if block_ok[block]:
                    return f"+{country_code}{nsn}"
            elif phonenumbers.is_valid_number_for_region(number, region):  # and every number is checked
                return f"+{country_code}{nsn}"


class _Weighted:
    """Fast weighted choice: one random() and a bisect."""

    def __init__(self, pairs):
        self.values = [v for v, _ in pairs]
        total, self.cum = 0.0, []
        for _, w in pairs:
            total += w
            self.cum.append(total)
        self.total = total

    def pick(self, rng: random.Random):
        return self.values[bisect.bisect_right(self.cum, rng.random() * self.total)]


class _CountryView:
    """A catalog country plus its carriers pre-encoded for JSON (carrier, "carrier", URL template)."""

    def __init__(self, country: catalog.Country):
        self.country = country
        self.code, self.cities, self.email_domains = country.code, country.cities, country.email_domains
        self.carriers_json = tuple((name, json.dumps(name), url) for name, url in country.carriers)


class DemoGenerator:
    def __init__(self, plan: Plan):
        if plan.profiles < 0 or plan.orders < 0 or plan.events < 0:
            raise ValueError("sizes must be zero or more")
        if plan.profiles == 0 and (plan.orders or plan.events):
            raise ValueError("orders and events need at least one profile")
        if not plan.products and (plan.orders or plan.events):
            raise ValueError("orders and events need products")
        self.plan = plan
        self.now = int(plan.now.timestamp())
        self.start = self.now - int(plan.years * 365 * DAY)
        self.rng = random.Random(f"textpilot-demo:{plan.seed}")
        self.phones = PhoneBook(plan.seed)
        self.counts = {"subscribed": 0, "unsubscribed": 0, "pending": 0, "never": 0, "abandoned_checkouts": 0}
        self._order_k = 0
        self._checkout_k = 0
        self._build_formats()
        self._build_catalog()
        self._draw_shape()

    # -- set-up ------------------------------------------------------------------------
    def _build_formats(self):
        first_day = self.start // DAY - 3
        self._day0 = first_day
        base = datetime(1970, 1, 1, tzinfo=timezone.utc)
        self._days = [(base + timedelta(days=d)).strftime("%Y-%m-%d ") for d in range(first_day, self.now // DAY + 2)]
        suffix = self.plan.ts_suffix
        self._times = [f"{s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}{suffix}" for s in range(DAY)]

    def ts(self, t: int) -> str:
        return self._days[t // DAY - self._day0] + self._times[t % DAY]

    def _build_catalog(self):
        plan = self.plan
        self.countries = _Weighted([(_CountryView(c), c.weight) for c in catalog.COUNTRIES])
        self.languages = {c.code: _Weighted(c.languages) for c in catalog.COUNTRIES}
        self.names = {
            lang: tuple(tuple((display, _ascii(roman)) for display, roman in group) for group in groups)
            for lang, groups in catalog.NAMES.items()
        }
        self.sources = _Weighted(catalog.PROFILE_SOURCES)
        self.payment = _Weighted(PAYMENT_STATUSES)
        self.consent_text = catalog.consent_texts(plan.brand)
        products = plan.products
        # Popularity falls off like Zipf: a few best sellers, a long tail.
        self.popularity = _Weighted([(i, 1.0 / (rank + 2)) for rank, i in enumerate(random.Random(f"products:{plan.seed}").sample(range(len(products)), len(products)))]) if products else None
        self.view_props, self.cart_props, self.line_json = [], [], []
        for p in products:
            base = {"product_id": p.id, "title": p.title, "price": float(money(p.price_cents)), "url": p.url, "sku": p.sku}
            self.view_props.append(json.dumps(base, ensure_ascii=False))
            self.cart_props.append(json.dumps({**base, "quantity": 1}, ensure_ascii=False))
            self.line_json.append(json.dumps({"product_id": p.id, "title": p.title, "sku": p.sku, "quantity": 1, "price": money(p.price_cents)}, ensure_ascii=False))
        self.page_props = [json.dumps({"page": catalog.SHOP_URL + page}) for page in catalog.PAGES]
        link_rng = random.Random(f"links:{plan.seed}")
        self.click_props = [
            json.dumps({"url": f"{catalog.SHOP_URL}/s/{''.join(link_rng.choice('abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789') for _ in range(7))}", "campaign": name})
            for name in catalog.CAMPAIGNS
        ]

    def _draw_shape(self):
        """Signup time and integer buying/browsing weights of every profile (first pass)."""
        n, plan = self.plan.profiles, self.plan
        rng = random.Random(f"textpilot-demo-shape:{plan.seed}")
        span = (self.now - 2 * HOUR) - self.start
        self.created = array("q", bytes(8 * n))
        self.buy = array("q", bytes(8 * n))
        self.browse = array("q", bytes(8 * n))
        buy_total = browse_total = 0
        for i in range(n):
            # Stratified and increasing with the id, denser towards now (the list grows).
            created = self.start + int(span * math.sqrt((i + rng.random()) / n))
            age = (self.now - created) / span
            buy = 0 if rng.random() < 0.55 else int(1000 * min(rng.paretovariate(1.3), 40.0) * (0.25 + age))
            browse = int(1000 * (0.3 + rng.random()) * (1.0 + buy / 1000.0))
            self.created[i], self.buy[i], self.browse[i] = created, buy, browse
            buy_total += buy
            browse_total += browse
        if n and plan.orders and buy_total == 0:
            self.buy[n - 1] = buy_total = 1000
        self.buy_total, self.browse_total = buy_total, browse_total
        self._buy_offset = rng.randrange(buy_total) if buy_total else 0
        self._browse_offset = rng.randrange(browse_total) if browse_total else 0

    # -- rows --------------------------------------------------------------------------
    def chunks(self, size: int = 5000):
        plan = self.plan
        buy_cum = browse_cum = 0
        orders_before = events_before = 0
        for start in range(0, plan.profiles, size):
            chunk = Chunk()
            for i in range(start, min(plan.profiles, start + size)):
                buy_cum += self.buy[i]
                browse_cum += self.browse[i]
                orders_upto = (buy_cum * plan.orders + self._buy_offset) // self.buy_total if self.buy_total else 0
                events_upto = (browse_cum * plan.events + self._browse_offset) // self.browse_total if self.browse_total else 0
                self._profile(i, orders_upto - orders_before, events_upto - events_before, chunk)
                orders_before, events_before = orders_upto, events_upto
            yield chunk

    def _daytime(self, t: int, offset: int, latest: int) -> int:
        """Move a night-time moment (local time) into the day when that stays before `latest`."""
        hour = (t // HOUR + offset) % 24
        if hour < 7:
            moved = t + (7 - hour) * HOUR + int(self.rng.random() * 14 * HOUR)
            if moved <= latest:
                return moved
        return t

    def _profile(self, i: int, n_orders: int, n_events: int, ch: Chunk):
        plan, rng, ts = self.plan, self.rng, self.ts
        rand, randrange = rng.random, rng.randrange
        store_id, now = plan.store_id, self.now
        pid = plan.first_profile_id + i
        created = self.created[i]

        country = self.countries.pick(rng)
        language = self.languages[country.code].pick(rng)
        female, male, last_names = self.names[catalog.NAME_LANGUAGE.get(language, language)]
        r = rand()
        gender = "female" if r < 0.48 else "male" if r < 0.93 else "other" if r < 0.95 else ""
        first = rng.choice(female if gender == "female" else male if gender == "male" else (female, male)[randrange(2)])
        last = rng.choice(last_names)
        city = rng.choice(country.cities)
        source = self.sources.pick(rng)
        has_phone = source != "import" or rand() < 0.85
        has_email = not has_phone or source in ("checkout", "import") or rand() < 0.8
        phone = self.phones.next(country.code, city.area_code) if has_phone else None
        email = f"{first[1]}.{last[1]}{i + 1}@{country.email_domains[i % len(country.email_domains)]}" if has_email else None
        props = {"favorite_activity": catalog.ACTIVITIES[randrange(len(catalog.ACTIVITIES))], "email_marketing": rand() < 0.6}

        # Consent evidence; the profile's current status is the newest event.
        sms_status, sms_status_at, opted_out_at = "never", None, None
        if has_phone and rand() < 0.86:
            t = created + randrange(5, 180)
            web = source in ("popup", "checkout")
            ip = (catalog.IPV4_PREFIXES[randrange(3)] + str(randrange(1, 255))) if web and rand() < 0.9 else (
                f"{catalog.IPV6_PREFIX}{randrange(1, 0xffff):x}" if web else None)
            agent = catalog.USER_AGENTS[randrange(len(catalog.USER_AGENTS))] if web else ""
            consent_source = source
            if rand() < 0.03 and source == "popup":
                status = "pending"  # double opt-in never confirmed
            else:
                status = "subscribed"
            # How textpilot knows (profiles/consent.py): a web form with its IP and agent is
            # evidence, an imported list is only reported.
            basis = "evidenced" if ip and agent else "reported"
            ch.consents.append((store_id, pid, "sms", status, phone, consent_source, "", ip, agent,
                                self.consent_text[consent_source], ts(t), ts(t), basis))
            sms_status, sms_status_at = status, t
            if status == "subscribed" and rand() < 0.12 and t + DAY < now - HOUR:
                t = randrange(t + DAY, now - HOUR)
                stop = catalog.STOP_WORDS[randrange(len(catalog.STOP_WORDS))]
                ch.consents.append((store_id, pid, "sms", "unsubscribed", phone, "inbound_keyword", stop, None, "", "", ts(t), ts(t),
                                    "observed"))
                sms_status, sms_status_at, opted_out_at = "unsubscribed", t, t
                if rand() < 0.1 and t + DAY < now - HOUR:
                    t = randrange(t + DAY, now - HOUR)
                    ch.consents.append((store_id, pid, "sms", "subscribed", phone, "inbound_keyword", "START", None, "",
                                        self.consent_text["start"], ts(t), ts(t), "observed"))
                    sms_status, sms_status_at, opted_out_at = "subscribed", t, None
        self.counts[sms_status] += 1
        subscribed = sms_status == "subscribed"

        # Orders, their lines and checkouts; the customer stats follow the commerce rule.
        orders = []
        count = spent = 0
        first_at = last_at = None
        if n_orders:
            address = json.dumps({"first_name": first[0], "last_name": last[0], "city": city.name, "country": country.code}, ensure_ascii=False)
            lo = created + 600
            placed_times = sorted(self._daytime(randrange(lo, max(lo + 1, now - 60)), city.utc_offset, now - 60) for _ in range(n_orders))
            for placed in placed_times:
                order = self._order(pid, placed, created, country, address, ch)
                orders.append(order)
                if order[4]:
                    count += 1
                    spent += order[2]
                    first_at = placed if first_at is None else first_at
                    last_at = placed
        updated = max(created, sms_status_at or created, orders[-1][0] if orders else created)
        ch.profiles.append((
            pid, store_id, phone, email, f"demo-{i + 1}", first[0], last[0], gender, language, country.code,
            city.region, city.name, round(city.latitude + (rand() - 0.5) * 0.12, 5), round(city.longitude + (rand() - 0.5) * 0.12, 5),
            city.timezone, json.dumps(props, ensure_ascii=False), source, ts(created), ts(updated), sms_status,
            ts(sms_status_at) if sms_status_at is not None else None,
            ts(opted_out_at) if opted_out_at is not None else None,
        ))
        if orders:
            ch.stats.append((
                pid, store_id, count, money(spent), money(average_cents(spent, count)) if count else "0.00",
                ts(first_at) if first_at is not None else None, ts(last_at) if last_at is not None else None, plan.currency, 0,
            ))
        if n_events:
            self._events(pid, created, n_events, orders, city.utc_offset, subscribed, ch)

    def _order(self, pid, placed, created, country, address, ch):
        """One order of profile `pid` (its lines, maybe its checkout); returns what the events need.
        Hot path (2M calls at full size): JSON is assembled from pre-encoded pieces."""
        plan, rng, ts = self.plan, self.rng, self.ts
        rand = rng.random
        store_id, now, products = plan.store_id, self.now, plan.products
        k = self._order_k
        self._order_k += 1
        oid = plan.first_order_id + k
        number = f"#{1001 + k}"

        r = rand()
        n_lines = 1 if r < 0.55 else 2 if r < 0.85 else 3
        pick = self.popularity.pick
        picked = []
        for _ in range(n_lines):
            p = pick(rng)
            if p not in picked:
                picked.append(p)
        discount = catalog.DISCOUNT_CODES[int(rand() * len(catalog.DISCOUNT_CODES))] if rand() < 0.25 else None
        pct = discount[1] if discount else 0
        total = full = 0
        add_line = ch.lines.append
        for p in picked:
            product = products[p]
            quantity = 2 if rand() < 0.12 else 1
            price = (product.price_cents * (100 - pct) + 50) // 100
            total += price * quantity
            full += product.price_cents * quantity
            add_line((store_id, oid, product.id, product.title, product.sku, quantity, money(price)))
        codes = f'[{{"code": "{discount[0]}", "type": "percentage", "value": {pct}, "amount": "{money(full - total)}"}}]' if discount else "[]"

        cancelled_at = None
        if rand() < 0.02:
            cancelled_at = min(now, placed + 600 + int(rand() * (2 * DAY - 600)))
            payment = "voided" if rand() < 0.5 else "refunded"
        else:
            payment = self.payment.pick(rng)
        age = now - placed
        if cancelled_at is not None or payment in ("voided", "pending", "authorized") or age < DAY:
            fulfillment = "unfulfilled"
        elif age < 5 * DAY:
            fulfillment = "fulfilled" if rand() < 0.9 else "partial"
        else:
            fulfillment = "delivered" if rand() < 0.95 else "fulfilled"
        placed_s = ts(placed)
        updated_s = ts(cancelled_at) if cancelled_at else placed_s
        if fulfillment == "unfulfilled":
            shipping = f'{{"address": {address}}}'
        else:
            carrier, carrier_json, url = country.carriers_json[int(rand() * len(country.carriers_json))]
            tracking = f"{carrier[:2].upper()}{rng.getrandbits(40):012d}"
            shipped = min(now, placed + 4 * HOUR + int(rand() * (3 * DAY - 4 * HOUR)))
            updated_s = ts(shipped)
            shipping = (f'{{"address": {address}, "carrier": {carrier_json}, "tracking_number": "{tracking}", '
                        f'"tracking_url": "{url.format(n=tracking)}", "shipped_at": "{updated_s[:10]}T{updated_s[11:19]}Z"')
            if fulfillment == "delivered":
                delivered = min(now, shipped + DAY + int(rand() * 5 * DAY))
                updated_s = ts(delivered)
                shipping += f', "delivered_at": "{updated_s[:10]}T{updated_s[11:19]}Z"'
            shipping += "}"
        ch.orders.append((
            oid, store_id, pid, f"demo-o-{k + 1}", number, money(total), plan.currency, payment, fulfillment, codes,
            shipping, "demo", placed_s, ts(cancelled_at) if cancelled_at else None, updated_s, placed_s,
        ))

        r = rand()
        if r < 0.45:
            recovered = r < 0.12  # abandoned, reminded by text, then bought
            started = max(created, placed - (HOUR + int(rand() * (2 * DAY - HOUR)) if recovered else 120 + int(rand() * 1680)))
            self._checkout(pid, started, total, picked, "recovered" if recovered else "completed", placed, oid, ch)
        return (placed, oid, total, picked, cancelled_at is None and payment in COUNTED_PAYMENT_STATUSES, number)

    def _checkout(self, pid, started, total, picked, status, completed, oid, ch):
        plan, rng = self.plan, self.rng
        self._checkout_k += 1
        url = f"{catalog.SHOP_URL}/checkouts/{rng.getrandbits(128):032x}/recover?key={rng.getrandbits(64):016x}"
        items = "[" + ", ".join(self.line_json[p] for p in picked) + "]"
        ch.checkouts.append((
            plan.store_id, pid, f"demo-c-{self._checkout_k}", money(total), plan.currency, url, status, items,
            self.ts(started), self.ts(completed) if completed is not None else None, oid,
        ))
        return url

    def _events(self, pid, created, budget, orders, offset, subscribed, ch):
        plan, rng, ts = self.plan, self.rng, self.ts
        rand = rng.random
        store_id, now = plan.store_id, self.now
        add = ch.events.append
        view_props, cart_props = self.view_props, self.cart_props
        currency = plan.currency

        # Orders first: every order gets its placed_order event while the budget lasts ...
        for placed, oid, total, picked, counted, number in orders:
            if not budget:
                return
            t = ts(placed)
            add((store_id, pid, "placed_order", f'{{"order_id": "{number}", "value": {money(total)}, "currency": "{currency}", "item_count": {len(picked)}}}', t, None, "shopify", t))
            budget -= 1
        # ... then the funnel that led to it (viewed, added to cart, started checkout).
        for placed, oid, total, picked, counted, number in orders:
            for p in picked:
                if not budget:
                    return
                t = ts(max(created, placed - 600 - int(rand() * 3000)))
                add((store_id, pid, "viewed_product", view_props[p], t, None, "web", t))
                budget -= 1
            if budget:
                t = ts(max(created, placed - 300 - int(rand() * 300)))
                add((store_id, pid, "added_to_cart", cart_props[picked[0]], t, None, "web", t))
                budget -= 1
            if budget:
                t = ts(max(created, placed - 30 - int(rand() * 270)))
                add((store_id, pid, "started_checkout", f'{{"value": {money(total)}, "currency": "{currency}", "item_count": {len(picked)}}}', t, None, "shopify", t))
                budget -= 1

        # Browsing sessions fill the rest of the budget.
        pick = self.popularity.pick
        pages, clicks = self.page_props, self.click_props
        n_pages, n_clicks = len(pages), len(clicks)
        while budget:
            t = created + int(rand() * (now - created))
            hour = (t // HOUR + offset) % 24
            if hour < 7:  # night-time: move it into the (local) day if that is not in the future
                moved = t + (7 - hour) * HOUR + int(rand() * 14 * HOUR)
                if moved <= now:
                    t = moved
            if subscribed and rand() < 0.2:
                s = ts(t)
                add((store_id, pid, "clicked_link", clicks[int(rand() * n_clicks)], s, None, "sms", s))
                budget -= 1
                t += 2 + int(rand() * 18)
                if not budget:
                    return
            s = ts(min(t, now))
            add((store_id, pid, "active_on_site", pages[int(rand() * n_pages)], s, None, "web", s))
            budget -= 1
            viewed = []
            while budget:
                t += 15 + int(rand() * 225)
                p = pick(rng)
                viewed.append(p)
                s = ts(min(t, now))
                add((store_id, pid, "viewed_product", view_props[p], s, None, "web", s))
                budget -= 1
                if rand() < 0.45:
                    break
            if budget and rand() < 0.3:
                t += 10 + int(rand() * 110)
                s = ts(min(t, now))
                add((store_id, pid, "added_to_cart", cart_props[viewed[-1]], s, None, "web", s))
                budget -= 1
                if budget and rand() < 0.45:
                    t = min(t + 30 + int(rand() * 570), now)
                    s = ts(t)
                    items = viewed[-2:]
                    value = sum(plan.products[p].price_cents for p in items)
                    add((store_id, pid, "started_checkout", f'{{"value": {money(value)}, "currency": "{currency}", "item_count": {len(items)}}}', s, None, "shopify", s))
                    budget -= 1
                    self._checkout(pid, t, value, items, "abandoned" if now - t > HOUR else "open", None, None, ch)
                    self.counts["abandoned_checkouts"] += 1

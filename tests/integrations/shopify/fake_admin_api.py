"""A local stand-in for Shopify's Admin GraphQL endpoint, served on 127.0.0.1 in a thread.

It speaks the real wire format: GET /admin/api/<version>/shop.json (REST: the shop's details,
what connecting checks the token with; 401 with Shopify's own body for a wrong token) and
POST /admin/api/<version>/graphql.json with
X-Shopify-Access-Token; answers {"data": {<root>: {"nodes": [...], "pageInfo": {...}}},
"extensions": {"cost": {..., "throttleStatus": {...}}}} with opaque cursors; a leaky bucket
of query cost that answers THROTTLED errors when it runs dry; and switches to simulate
trouble: `fail_after_pages` (HTTP 500 after N pages, like a crash mid-backfill) and
`throttle_next` (the next N queries are THROTTLED).

The bucket refills on a virtual clock (`clock()` / `advance(seconds)`). Give the client
`sleep=fake.advance, clock=fake.clock` and throttling runs for real without waiting."""
import base64
import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ROOTS = ("products", "customers", "orders", "abandonedCheckouts")
COUNT_ROOTS = {"productsCount": "products", "customersCount": "customers", "ordersCount": "orders", "abandonedCheckoutsCount": "abandonedCheckouts"}


def gid(kind: str, number: int) -> str:
    return f"gid://shopify/{kind}/{number}"


def money(amount: str, currency: str = "USD") -> dict:
    return {"shopMoney": {"amount": amount, "currencyCode": currency}}


def product_node(number: int, *, title: str | None = None, price: str = "19.00", updated_at: str = "2025-01-10T10:00:00Z") -> dict:
    return {
        "id": gid("Product", number), "title": title or f"Product {number}", "handle": f"product-{number}",
        "onlineStoreUrl": None, "updatedAt": updated_at, "featuredImage": {"url": f"https://cdn.shopify.com/p{number}.jpg"},
        "priceRangeV2": {"minVariantPrice": {"amount": price, "currencyCode": "USD"}},
    }


def customer_node(number: int, *, phone: str | None = None, email: str | None = None, sms_state: str = "SUBSCRIBED",
                  updated_at: str = "2025-01-10T10:00:00Z") -> dict:
    return {
        "id": gid("Customer", number), "email": email or f"customer{number}@example.com", "phone": phone,
        "firstName": f"First{number}", "lastName": f"Last{number}", "updatedAt": updated_at,
        "defaultAddress": {"countryCodeV2": "US", "city": "Portland"},
        "emailMarketingConsent": {"marketingState": "NOT_SUBSCRIBED", "marketingOptInLevel": None, "consentUpdatedAt": None},
        "smsMarketingConsent": {"marketingState": sms_state, "marketingOptInLevel": "SINGLE_OPT_IN",
                                "consentUpdatedAt": "2025-01-05T09:00:00Z", "consentCollectedFrom": "SHOPIFY"} if phone else None,
    }


def order_node(number: int, *, customer: int, product: int = 1, total: str = "40.00", status: str = "PAID",
               updated_at: str = "2025-01-11T10:00:00Z", delivered: bool = False) -> dict:
    return {
        "id": gid("Order", number), "name": f"#{1000 + number}", "email": f"customer{customer}@example.com", "phone": None,
        "createdAt": "2025-01-11T09:00:00Z", "updatedAt": updated_at, "processedAt": "2025-01-11T09:00:00Z", "cancelledAt": None,
        "displayFinancialStatus": status, "displayFulfillmentStatus": "FULFILLED" if delivered else "UNFULFILLED",
        "discountCodes": ["WELCOME10"], "currentTotalPriceSet": money(total),
        "customer": {"id": gid("Customer", customer), "email": f"customer{customer}@example.com", "phone": None,
                     "firstName": f"First{customer}", "lastName": f"Last{customer}", "updatedAt": "2025-01-01T00:00:00Z"},
        "shippingAddress": {"firstName": "Ann", "lastName": "Lee", "company": None, "address1": "1 Main St", "address2": None,
                            "city": "Portland", "province": "Oregon", "zip": "97201", "countryCodeV2": "US", "phone": None},
        "shippingLine": {"title": "Standard", "code": "STD", "originalPriceSet": money("5.00")},
        "lineItems": {"nodes": [{"title": f"Product {product}", "sku": f"SKU-{product}", "quantity": 2,
                                 "originalUnitPriceSet": money("17.50"), "product": {"id": gid("Product", product)}}]},
        "fulfillments": [{
            "id": gid("Fulfillment", number), "status": "SUCCESS", "displayStatus": "DELIVERED",
            "createdAt": "2025-01-12T09:00:00Z", "updatedAt": "2025-01-13T09:00:00Z",
            "trackingInfo": [{"company": "UPS", "number": f"1Z{number}", "url": f"https://ups.example/track/1Z{number}"}],
            "fulfillmentLineItems": {"nodes": [{"quantity": 2}]},
        }] if delivered else [],
    }


def checkout_node(number: int, *, customer: int, completed: bool = False) -> dict:
    return {
        "id": gid("AbandonedCheckout", number), "abandonedCheckoutUrl": f"https://shop.example/checkouts/{number}/recover",
        "createdAt": "2025-01-09T08:00:00Z", "updatedAt": "2025-01-09T08:30:00Z",
        "completedAt": "2025-01-10T08:00:00Z" if completed else None, "totalPriceSet": money("25.00"),
        "customer": {"id": gid("Customer", customer), "email": f"customer{customer}@example.com", "phone": None,
                     "firstName": f"First{customer}", "lastName": f"Last{customer}", "updatedAt": "2025-01-01T00:00:00Z"},
        "lineItems": {"nodes": [{"title": "Product 1", "sku": "SKU-1", "quantity": 1, "originalUnitPriceSet": money("25.00"),
                                 "product": {"id": gid("Product", 1)}}]},
    }


def _cursor(index: int) -> str:
    return base64.b64encode(json.dumps({"last_index": index}).encode()).decode()


def _index(cursor: str | None) -> int:
    if not cursor:
        return -1
    return json.loads(base64.b64decode(cursor))["last_index"]


class FakeShopifyAdmin:
    def __init__(self, *, access_token: str = "shpat_test_token", api_version: str = "2025-01",
                 shop_domain: str = "acme-outdoors.myshopify.com"):
        self.access_token, self.api_version, self.shop_domain = access_token, api_version, shop_domain
        self.shop_currency = "USD"
        self.rest_answer: tuple[int, object] | None = None  # forced answer of shop.json (e.g. a page that is no shop)
        self.nodes: dict[str, list[dict]] = {root: [] for root in ROOTS}
        self.requests: list[dict] = []  # {"root", "variables"} of every query answered or refused
        self.fail_after_pages: int | None = None
        self.pages_served = 0
        self.throttle_next = 0
        self.maximum, self.available, self.restore_rate = 1000.0, 1000.0, 50.0
        self.cost_per_node = 1.0
        self.now = 0.0
        self._refilled_at = 0.0
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None

    # -- virtual clock -------------------------------------------------------------------
    def clock(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds

    def _refill(self) -> None:
        self.available = min(self.maximum, self.available + self.restore_rate * (self.now - self._refilled_at))
        self._refilled_at = self.now

    # -- server --------------------------------------------------------------------------
    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}/admin/api/{self.api_version}"

    def start(self) -> "FakeShopifyAdmin":
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                self._send(*fake.answer_rest(self.path, self.headers))

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                self._send(*fake.answer(self.path, self.headers, body))

            def _send(self, status, answer):
                raw = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server:
            self._server.shutdown()
            self._server.server_close()

    # -- REST: shop.json ------------------------------------------------------------------
    def answer_rest(self, path: str, headers) -> tuple[int, dict]:
        if path != f"/admin/api/{self.api_version}/shop.json":
            return 404, {"errors": "Not Found"}
        self.requests.append({"root": "shop.json", "variables": {}})
        if self.rest_answer is not None:
            return self.rest_answer
        if headers.get("X-Shopify-Access-Token") != self.access_token:
            return 401, {"errors": "[API] Invalid API key or access token (unrecognized login or wrong password)"}
        name = self.shop_domain.split(".")[0].replace("-", " ").title()
        return 200, {"shop": {
            "id": 548380009, "name": name, "email": f"owner@{self.shop_domain}", "domain": self.shop_domain,
            "myshopify_domain": self.shop_domain, "country": "US", "country_code": "US", "currency": self.shop_currency,
            "iana_timezone": "America/New_York", "plan_name": "basic", "created_at": "2024-03-01T10:00:00-05:00",
        }}

    # -- GraphQL -------------------------------------------------------------------------
    def _cost(self, requested: float) -> dict:
        return {
            "requestedQueryCost": requested, "actualQueryCost": requested,
            "throttleStatus": {"maximumAvailable": self.maximum, "currentlyAvailable": self.available, "restoreRate": self.restore_rate},
        }

    def answer(self, path: str, headers, body: bytes) -> tuple[int, dict]:
        if path != f"/admin/api/{self.api_version}/graphql.json":
            return 404, {"errors": "Not Found"}
        if headers.get("X-Shopify-Access-Token") != self.access_token:
            return 401, {"errors": "[API] Invalid API key or access token (unrecognized login or wrong password)"}
        request = json.loads(body)
        query, variables = request["query"], request.get("variables") or {}
        with self._lock:
            self._refill()
            count_root = next((name for name in COUNT_ROOTS if re.search(rf"\b{name}\b", query)), None)
            if count_root:
                self.requests.append({"root": count_root, "variables": variables})
                self.available = max(0.0, self.available - 1)
                return 200, {"data": {count_root: {"count": len(self.nodes[COUNT_ROOTS[count_root]]), "precision": "EXACT"}},
                             "extensions": {"cost": self._cost(1)}}
            root = next(name for name in ROOTS if re.search(rf"\b{name}\(", query))
            self.requests.append({"root": root, "variables": variables})
            first = int(variables["first"])
            requested = 2 + first * self.cost_per_node
            if self.throttle_next > 0 or requested > self.available:
                self.throttle_next = max(0, self.throttle_next - 1)
                return 200, {
                    "errors": [{"message": "Throttled", "extensions": {"code": "THROTTLED", "documentation": "https://shopify.dev/api/usage/rate-limits"}}],
                    "extensions": {"cost": {**self._cost(requested), "actualQueryCost": None}},
                }
            if self.fail_after_pages is not None and self.pages_served >= self.fail_after_pages:
                return 500, {"errors": "Internal Server Error"}
            self.available -= requested
            self.pages_served += 1
            items = self.nodes[root]
            start = _index(variables.get("after")) + 1
            page = items[start:start + first]
            last = start + len(page) - 1
            page_info = {
                "hasNextPage": last + 1 < len(items), "hasPreviousPage": start > 0,
                "startCursor": _cursor(start) if page else None, "endCursor": _cursor(last) if page else None,
            }
            return 200, {"data": {root: {"nodes": page, "pageInfo": page_info}}, "extensions": {"cost": self._cost(requested)}}

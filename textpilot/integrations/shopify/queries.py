"""The backfill's Admin GraphQL queries, and each node converted to the webhook (REST)
shape that mapping.py reads, so history and live webhooks go through one code path."""
from dataclasses import dataclass
from typing import Callable

from textpilot.integrations.shopify import mapping

PAGE_INFO = "pageInfo { hasNextPage endCursor }"
CUSTOMER_FIELDS = """
  id email phone firstName lastName updatedAt
  defaultAddress { countryCodeV2 city }
  emailMarketingConsent { marketingState marketingOptInLevel consentUpdatedAt }
  smsMarketingConsent { marketingState marketingOptInLevel consentUpdatedAt consentCollectedFrom }
"""
BUYER_FIELDS = "id email phone firstName lastName updatedAt"
MONEY = "shopMoney { amount currencyCode }"

PRODUCTS = f"""
query BackfillProducts($first: Int!, $after: String) {{
  products(first: $first, after: $after, sortKey: ID) {{
    {PAGE_INFO}
    nodes {{
      id title handle onlineStoreUrl updatedAt
      featuredImage {{ url }}
      priceRangeV2 {{ minVariantPrice {{ amount currencyCode }} }}
    }}
  }}
}}"""

CUSTOMERS = f"""
query BackfillCustomers($first: Int!, $after: String) {{
  customers(first: $first, after: $after, sortKey: ID) {{
    {PAGE_INFO}
    nodes {{ {CUSTOMER_FIELDS} }}
  }}
}}"""

ORDERS = f"""
query BackfillOrders($first: Int!, $after: String) {{
  orders(first: $first, after: $after, sortKey: ID) {{
    {PAGE_INFO}
    nodes {{
      id name email phone createdAt updatedAt processedAt cancelledAt
      displayFinancialStatus displayFulfillmentStatus discountCodes
      currentTotalPriceSet {{ {MONEY} }}
      customer {{ {BUYER_FIELDS} }}
      shippingAddress {{ firstName lastName company address1 address2 city province zip countryCodeV2 phone }}
      shippingLine {{ title code originalPriceSet {{ {MONEY} }} }}
      lineItems(first: 50) {{ nodes {{ title sku quantity originalUnitPriceSet {{ {MONEY} }} product {{ id }} }} }}
      fulfillments(first: 10) {{
        id status displayStatus createdAt updatedAt
        trackingInfo(first: 1) {{ company number url }}
        fulfillmentLineItems(first: 50) {{ nodes {{ quantity }} }}
      }}
    }}
  }}
}}"""

CHECKOUTS = f"""
query BackfillAbandonedCheckouts($first: Int!, $after: String) {{
  abandonedCheckouts(first: $first, after: $after, sortKey: ID) {{
    {PAGE_INFO}
    nodes {{
      id abandonedCheckoutUrl createdAt updatedAt completedAt
      totalPriceSet {{ {MONEY} }}
      customer {{ {BUYER_FIELDS} }}
      lineItems(first: 50) {{ nodes {{ title sku quantity originalUnitPriceSet {{ {MONEY} }} product {{ id }} }} }}
    }}
  }}
}}"""


def _money(money_set) -> tuple[str | None, str | None]:
    shop = (money_set or {}).get("shopMoney") or {}
    return shop.get("amount"), shop.get("currencyCode")


def _lower(value) -> str:
    return str(value or "").lower()


def _consent(consent) -> dict | None:
    if not consent:
        return None
    return {
        "state": _lower(consent.get("marketingState")),
        "opt_in_level": _lower(consent.get("marketingOptInLevel")),
        "consent_updated_at": consent.get("consentUpdatedAt"),
        "consent_collected_from": consent.get("consentCollectedFrom"),
    }


def customer_shape(node: dict | None) -> dict | None:
    if not node:
        return None
    address = node.get("defaultAddress") or {}
    return {
        "id": mapping.shopify_id(node.get("id")), "email": node.get("email"), "phone": node.get("phone"),
        "first_name": node.get("firstName"), "last_name": node.get("lastName"), "updated_at": node.get("updatedAt"),
        "default_address": {"country_code": address.get("countryCodeV2"), "city": address.get("city")},
        "sms_marketing_consent": _consent(node.get("smsMarketingConsent")),
        "email_marketing_consent": _consent(node.get("emailMarketingConsent")),
    }


def product_shape(node: dict) -> dict:
    lowest = (node.get("priceRangeV2") or {}).get("minVariantPrice") or {}
    amount, currency = lowest.get("amount"), lowest.get("currencyCode")
    return {
        "id": mapping.shopify_id(node.get("id")), "title": node.get("title"), "handle": node.get("handle"),
        "online_store_url": node.get("onlineStoreUrl"), "updated_at": node.get("updatedAt"),
        "image": {"src": (node.get("featuredImage") or {}).get("url")}, "variants": [{"price": amount}] if amount else [],
        "currency": currency,
    }


def _line_items(connection) -> list[dict]:
    return [
        {"title": item.get("title"), "sku": item.get("sku"), "quantity": item.get("quantity"),
         "price": _money(item.get("originalUnitPriceSet"))[0], "product_id": mapping.shopify_id((item.get("product") or {}).get("id"))}
        for item in (connection or {}).get("nodes") or []
    ]


# Fulfillment displayStatus values that are shipment statuses in the webhook shape.
SHIPMENT_STATUSES = {
    "attempted_delivery", "confirmed", "delivered", "failure", "in_transit", "label_printed",
    "label_purchased", "out_for_delivery", "ready_for_pickup",
}
ORDER_FULFILLMENT_STATUSES = {"FULFILLED": "fulfilled", "PARTIALLY_FULFILLED": "partial"}


def _fulfillment_shape(node: dict) -> dict:
    tracking = (node.get("trackingInfo") or [{}])[0] or {}
    shipment_status = _lower(node.get("displayStatus"))
    return {
        "id": mapping.shopify_id(node.get("id")), "status": _lower(node.get("status")),
        "shipment_status": shipment_status if shipment_status in SHIPMENT_STATUSES else None,
        "tracking_company": tracking.get("company"), "tracking_number": tracking.get("number"), "tracking_url": tracking.get("url"),
        "line_items": [{"quantity": item.get("quantity")} for item in (node.get("fulfillmentLineItems") or {}).get("nodes") or []],
        "created_at": node.get("createdAt"), "updated_at": node.get("updatedAt"),
    }


def order_shape(node: dict) -> dict:
    total, currency = _money(node.get("currentTotalPriceSet"))
    address = node.get("shippingAddress") or {}
    shipping_line = node.get("shippingLine") or {}
    return {
        "id": mapping.shopify_id(node.get("id")), "name": node.get("name"), "email": node.get("email"), "phone": node.get("phone"),
        "created_at": node.get("createdAt"), "updated_at": node.get("updatedAt"), "processed_at": node.get("processedAt"),
        "cancelled_at": node.get("cancelledAt"), "current_total_price": total, "currency": currency,
        "financial_status": _lower(node.get("displayFinancialStatus")),
        "fulfillment_status": ORDER_FULFILLMENT_STATUSES.get(node.get("displayFulfillmentStatus") or ""),
        "discount_codes": [{"code": code} for code in node.get("discountCodes") or []],
        "customer": customer_shape(node.get("customer")),
        "shipping_address": {**{k: v for k, v in address.items() if k != "countryCodeV2"}, "country_code": address.get("countryCodeV2")} if address else None,
        "shipping_lines": [{"title": shipping_line.get("title"), "code": shipping_line.get("code"),
                            "price": _money(shipping_line.get("originalPriceSet"))[0]}] if shipping_line else [],
        "line_items": _line_items(node.get("lineItems")),
        "fulfillments": [_fulfillment_shape(f) for f in node.get("fulfillments") or []],
    }


def checkout_shape(node: dict) -> dict:
    total, currency = _money(node.get("totalPriceSet"))
    return {
        "id": mapping.shopify_id(node.get("id")), "created_at": node.get("createdAt"), "updated_at": node.get("updatedAt"),
        "completed_at": node.get("completedAt"), "abandoned_checkout_url": node.get("abandonedCheckoutUrl"),
        "total_price": total, "currency": currency, "customer": customer_shape(node.get("customer")),
        "line_items": _line_items(node.get("lineItems")),
    }


@dataclass(frozen=True)
class Resource:
    name: str
    root: str  # the query's top-level connection
    query: str
    count_query: str
    page_size: int
    apply: Callable[[mapping.ShopContext, dict], bool]


def _apply_checkout(ctx, node):
    return mapping.apply_checkout(ctx, checkout_shape(node), abandoned=True)


def _apply_customer(ctx, node):
    return mapping.apply_customer(ctx, customer_shape(node))[1]


RESOURCES = {
    resource.name: resource
    for resource in (
        Resource("products", "products", PRODUCTS, "query { productsCount(limit: null) { count } }", 100,
                 lambda ctx, node: mapping.apply_product(ctx, product_shape(node))),
        Resource("customers", "customers", CUSTOMERS, "query { customersCount { count } }", 100, _apply_customer),
        # Orders nest line items and shipments: smaller pages keep a query's cost well under 1,000.
        Resource("orders", "orders", ORDERS, "query { ordersCount(limit: null) { count } }", 25,
                 lambda ctx, node: mapping.apply_order(ctx, order_shape(node))),
        Resource("checkouts", "abandonedCheckouts", CHECKOUTS, "query { abandonedCheckoutsCount(limit: null) { count } }", 50, _apply_checkout),
    )
}
DEFAULT_ORDER = ("products", "customers", "orders", "checkouts")

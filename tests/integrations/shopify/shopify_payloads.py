"""Shopify objects in the webhook (REST Admin) shape, as Shopify sends them, with defaults
that tests override field by field."""


def customer_payload(customer_id=7001, *, phone="(503) 555-0142", email="ann@example.com", updated_at="2025-02-01T10:00:00-05:00",
                     sms_state="subscribed", sms_at="2025-02-01T09:59:00-05:00", **extra) -> dict:
    return {
        "id": customer_id, "email": email, "phone": phone, "first_name": "Ann", "last_name": "Lee",
        "created_at": "2025-01-01T10:00:00-05:00", "updated_at": updated_at, "state": "enabled", "currency": "USD",
        "default_address": {"city": "Portland", "country_code": "US"},
        "email_marketing_consent": {"state": "not_subscribed", "opt_in_level": "single_opt_in", "consent_updated_at": None},
        "sms_marketing_consent": {"state": sms_state, "opt_in_level": "single_opt_in", "consent_updated_at": sms_at,
                                  "consent_collected_from": "SHOPIFY"} if sms_state else None,
        "admin_graphql_api_id": f"gid://shopify/Customer/{customer_id}",
        **extra,
    }


def order_payload(order_id=820982911946154508, *, customer_id=7001, updated_at="2025-02-02T10:00:00-05:00", financial_status="pending",
                  total="59.00", fulfillment_status=None, cancelled_at=None, checkout_id=None, fulfillments=(), **extra) -> dict:
    return {
        "id": order_id, "admin_graphql_api_id": f"gid://shopify/Order/{order_id}", "name": "#1001", "order_number": 1001,
        "email": "ann@example.com", "phone": None, "created_at": "2025-02-02T09:00:00-05:00", "updated_at": updated_at,
        "processed_at": "2025-02-02T09:00:00-05:00", "cancelled_at": cancelled_at, "cancel_reason": "customer" if cancelled_at else None,
        "currency": "USD", "total_price": total, "current_total_price": total, "subtotal_price": "54.00",
        "financial_status": financial_status, "fulfillment_status": fulfillment_status,
        "checkout_id": checkout_id, "checkout_token": f"tok{checkout_id}" if checkout_id else None,
        "discount_codes": [{"code": "SPRING10", "amount": "6.00", "type": "percentage"}],
        "line_items": [
            {"id": 1, "title": "Trail Mug", "name": "Trail Mug - Blue", "price": "18.00", "quantity": 2, "sku": "MUG-1", "product_id": 632910392},
            {"id": 2, "title": "Camp Spoon", "name": "Camp Spoon", "price": "18.00", "quantity": 1, "sku": "SPN-1", "product_id": None},
        ],
        "shipping_address": {"first_name": "Ann", "last_name": "Lee", "address1": "1 Main St", "city": "Portland",
                             "province": "Oregon", "zip": "97201", "country_code": "US", "phone": None},
        "shipping_lines": [{"title": "Standard", "code": "STD", "price": "5.00"}],
        "fulfillments": list(fulfillments),
        "customer": {"id": customer_id, "email": "ann@example.com", "phone": None, "first_name": "Ann", "last_name": "Lee",
                     "updated_at": "2025-01-15T10:00:00-05:00"} if customer_id else None,
        **extra,
    }


def fulfillment_payload(fulfillment_id=255858046, *, order_id=820982911946154508, status="success", shipment_status=None,
                        updated_at="2025-02-03T10:00:00-05:00", quantity=3, **extra) -> dict:
    return {
        "id": fulfillment_id, "order_id": order_id, "status": status, "created_at": "2025-02-03T09:00:00-05:00",
        "updated_at": updated_at, "service": "manual", "tracking_company": "UPS", "shipment_status": shipment_status,
        "tracking_number": "1Z2345", "tracking_numbers": ["1Z2345"], "tracking_url": "https://www.ups.com/track?tracknum=1Z2345",
        "tracking_urls": ["https://www.ups.com/track?tracknum=1Z2345"], "name": "#1001.1",
        "line_items": [{"id": 1, "quantity": quantity, "title": "Trail Mug"}],
        "admin_graphql_api_id": f"gid://shopify/Fulfillment/{fulfillment_id}",
        **extra,
    }


def checkout_payload(checkout_id=981820079255243537, *, updated_at="2025-02-01T12:00:00-05:00", completed_at=None, customer_id=7001, **extra) -> dict:
    return {
        "id": checkout_id, "token": "b1946ac92492d2347c6235b4d2611184", "cart_token": "68778783ad298f1c80c3bafcddeea02f",
        "email": "ann@example.com", "phone": None, "created_at": "2025-02-01T11:30:00-05:00", "updated_at": updated_at,
        "completed_at": completed_at, "currency": "USD", "total_price": "36.00",
        "abandoned_checkout_url": f"https://acme-outdoors.myshopify.com/1/checkouts/{checkout_id}/recover?key=abc",
        "line_items": [{"title": "Trail Mug", "quantity": 2, "price": "18.00", "sku": "MUG-1", "product_id": 632910392}],
        "customer": {"id": customer_id, "email": "ann@example.com", "phone": None, "first_name": "Ann", "last_name": "Lee",
                     "updated_at": "2025-01-15T10:00:00-05:00"} if customer_id else None,
        **extra,
    }


def product_payload(product_id=632910392, *, title="Trail Mug", updated_at="2025-01-20T10:00:00-05:00", prices=("18.00", "16.50"), **extra) -> dict:
    return {
        "id": product_id, "title": title, "handle": "trail-mug", "created_at": "2025-01-01T10:00:00-05:00", "updated_at": updated_at,
        "status": "active", "variants": [{"id": 1000 + i, "price": price, "sku": f"MUG-{i}"} for i, price in enumerate(prices)],
        "image": {"src": "https://cdn.shopify.com/s/files/mug.jpg"}, "images": [{"src": "https://cdn.shopify.com/s/files/mug.jpg"}],
        **extra,
    }

from ninja import Schema


class StoreOut(Schema):
    id: int
    name: str
    slug: str
    timezone: str
    currency: str
    country: str
    sender_name: str
    sender_phone: str

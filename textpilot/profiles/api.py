from ninja import Query, Router, Schema, Status
from ninja.pagination import paginate

from textpilot.common.inputs import PlainText, RowId
from textpilot.common.pagination import BoundedLimitOffset
from textpilot.profiles import consent, privacy, service, stats_slot
from textpilot.profiles.consent_proof import consent_proof_response
from textpilot.profiles.schemas import ConsentIn, ConsentOut, IdentifyIn, ProfileIn, ProfileOut, ProfilePatch

router = Router(tags=["profiles"])


class ProfileSearch(Schema):
    search: PlainText = ""


class ProfilePagination(BoundedLimitOffset):
    """Limit/offset pages whose profiles get their stats in one query for the whole page."""

    def paginate_queryset(self, queryset, pagination, request, **params):
        page = super().paginate_queryset(queryset, pagination, request, **params)
        page[self.items_attribute] = stats_slot.attach(request.store, page[self.items_attribute])
        return page


@router.post("/profiles", response={201: ProfileOut}, summary="Create a profile")
def create_profile(request, payload: ProfileIn):
    return Status(201, service.create_profile(request.store, **payload.dict()))


@router.post("/profiles/identify", response={200: ProfileOut, 201: ProfileOut}, summary="Create or update a profile by its identifiers (merges duplicates)")
def identify(request, payload: IdentifyIn):
    fields = payload.dict(exclude_unset=True)
    source = fields.pop("source", "api")
    profile, created = service.identify(request.store, source=source, **fields)
    return Status(201 if created else 200, profile)


@router.get("/profiles", response=list[ProfileOut], summary="List profiles, newest first")
@paginate(ProfilePagination)
def list_profiles(request, filters: Query[ProfileSearch]):
    return service.search_profiles(request.store, filters.search)


@router.get("/profiles/{profile_id}", response=ProfileOut, summary="Read a profile")
def get_profile(request, profile_id: RowId):
    return service.get_profile(request.store, profile_id)


@router.patch("/profiles/{profile_id}", response=ProfileOut, summary="Change some fields of a profile")
def update_profile(request, profile_id: RowId, payload: ProfilePatch):
    return service.update_profile(request.store, profile_id, **payload.dict(exclude_unset=True))


@router.post("/profiles/{profile_id}/consent", response={201: ConsentOut}, summary="Record a consent change (evidence)",
             description="An opt-in after a STOP (or another opt-out textpilot observed) needs evidence of a form "
                         "submission (`consent_text` plus `ip_address` or `user_agent`) made after it; otherwise 409. "
                         "`occurred_at` may not be in the future (5 min of clock skew are allowed).")
def record_consent(request, profile_id: RowId, payload: ConsentIn):
    profile = service.get_profile(request.store, profile_id)
    data = payload.dict()
    return Status(201, service.record_consent(request.store, profile, data.pop("status"), data.pop("source"),
                                              basis=consent.basis_of_client_report(**data), **data))


@router.get("/profiles/{profile_id}/consent", response=list[ConsentOut], summary="The consent evidence trail")
def consent_trail(request, profile_id: RowId):
    profile = service.get_profile(request.store, profile_id)
    return list(service.consent_trail(request.store, profile))


@router.get(
    "/profiles/{profile_id}/consent-proof", response={200: None}, summary="The consent proof: an HTML document to print or save as PDF",
    description="Current SMS status and the full evidence trail (times in UTC and the store's zone) as one self-contained "
                "HTML document (inline CSS, no external assets).",
    openapi_extra={"responses": {200: {"description": "HTML document", "content": {"text/html": {"schema": {"type": "string"}}}}}},
)
def consent_proof(request, profile_id: RowId):
    return consent_proof_response(request.store, service.get_profile(request.store, profile_id))


@router.get("/profiles/{profile_id}/export", response=dict, summary="Everything stored about a person (privacy request)")
def export_profile(request, profile_id: RowId):
    return privacy.export_profile(request.store, service.get_profile(request.store, profile_id))


@router.post("/profiles/{profile_id}/erase", response=ProfileOut, summary="Erase a person's personal data (privacy request)")
def erase_profile(request, profile_id: RowId):
    return privacy.erase_profile(request.store, service.get_profile(request.store, profile_id))

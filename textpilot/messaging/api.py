"""Message endpoints for the campaign editor.

Template validation is its own endpoint (`/messages/validate-template`, called on save with
the context kind the template will be sent in) rather than a flag on the preview: the preview
answers "what will this cost" for any body and fills merge tags with sample values (so it
also refuses a broken template), while saving needs the stricter question "does every tag
exist for this kind of send". Both answer 422 naming `body`, with line and column."""
from ninja import Router

from textpilot.messaging import service
from textpilot.messaging.schemas import MergeTagOut, PreviewIn, PreviewOut, TemplateIn, TemplateOut

router = Router(tags=["messages"])


@router.post("/messages/preview", response=PreviewOut, summary="Encoding, segments, estimated cost and warnings of a text")
def preview(request, payload: PreviewIn):
    return service.preview_message(request.store, **payload.dict())


@router.post(
    "/messages/validate-template", response=TemplateOut,
    summary="Check a template on save: 422 with line and column for a syntax error or an unknown merge tag",
)
def validate_template(request, payload: TemplateIn):
    info = service.validate_message_template(payload.body, payload.context_kind)
    return {"valid": True, "liquid": info.liquid, "merge_tags": list(info.variables)}


@router.get("/messages/merge-tags", response=list[MergeTagOut], summary="The merge tags a template can use")
def merge_tags(request):
    return service.merge_tag_catalog()

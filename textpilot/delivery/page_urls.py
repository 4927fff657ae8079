"""Dashboard URLs of delivery, mounted at the site root: /messages/, /inbox/, /phone/ and
two store settings pages."""
from django.urls import path

from textpilot.delivery.views import compliance, inbox, messages, phone, senders

app_name = "delivery"

urlpatterns = [
    path("messages/", messages.message_list, name="messages"),
    path("messages/<int:message_id>/", messages.message_detail, name="message"),
    path("inbox/", inbox.inbox, name="inbox"),
    path("inbox/<int:profile_id>/", inbox.conversation, name="conversation"),
    path("inbox/<int:profile_id>/thread/", inbox.conversation_thread, name="conversation_thread"),
    path("inbox/<int:profile_id>/reply/", inbox.conversation_reply, name="conversation_reply"),
    path("inbox/<int:profile_id>/sms-consent/", inbox.conversation_sms_consent, name="conversation_sms_consent"),
    path("inbox/replies/<int:message_id>/not-an-opt-out/", inbox.reply_not_opt_out, name="reply_not_opt_out"),
    path("phone/", phone.phone, name="phone"),
    path("phone/thread/", phone.phone_thread, name="phone_thread"),
    path("phone/send/", phone.phone_send, name="phone_send"),
    path("settings/senders/", senders.senders, name="senders"),
    path("settings/senders/fields/", senders.sender_fields, name="sender_fields"),
    path("settings/senders/<int:sender_id>/active/", senders.sender_active, name="sender_active"),
    path("settings/senders/<int:sender_id>/default/", senders.sender_default, name="sender_default"),
    path("settings/senders/<int:sender_id>/test/", senders.sender_test, name="sender_test"),
    path("settings/compliance/", compliance.compliance, name="compliance"),
]

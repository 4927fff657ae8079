from django.contrib.auth import views as auth_views
from django.urls import path

from textpilot.web.views import home, pages, profiles, settings

app_name = "web"

urlpatterns = [
    path("login/", auth_views.LoginView.as_view(template_name="web/login.html", redirect_authenticated_user=True), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("", home.home, name="home"),
    path("switch-store/", home.switch_store, name="switch_store"),
    path("profiles/", profiles.profile_list, name="profiles"),
    path("profiles/<int:profile_id>/", profiles.profile_detail, name="profile"),
    path("profiles/<int:profile_id>/export/", profiles.profile_export, name="profile_export"),
    path("profiles/<int:profile_id>/erase/", profiles.profile_erase, name="profile_erase"),
    path("profiles/<int:profile_id>/sms-consent/", profiles.profile_sms_consent, name="profile_sms_consent"),
    path("profiles/<int:profile_id>/consent-proof/", profiles.profile_consent_proof, name="profile_consent_proof"),
    path("settings/", settings.store_settings, name="settings"),
    path("settings/api-keys/", settings.api_keys, name="api_keys"),
    path("settings/api-keys/new/", settings.api_key_create, name="api_key_create"),
    path("settings/api-keys/<int:key_id>/revoke/", settings.api_key_revoke, name="api_key_revoke"),
    path("segments/", pages.coming_soon, {"section": "segments"}, name="segments"),
    path("campaigns/", pages.coming_soon, {"section": "campaigns"}, name="campaigns"),
    path("flows/", pages.coming_soon, {"section": "flows"}, name="flows"),
    path("sign-up-tools/", pages.coming_soon, {"section": "growth"}, name="growth"),
    path("analytics/", pages.coming_soon, {"section": "analytics"}, name="analytics"),
]

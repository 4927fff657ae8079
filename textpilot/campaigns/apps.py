from django.apps import AppConfig


class CampaignsConfig(AppConfig):
    name = "textpilot.campaigns"
    label = "campaigns"
    verbose_name = "Campaigns"

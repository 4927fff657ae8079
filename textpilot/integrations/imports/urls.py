"""Dashboard URLs of the CSV import, mounted at /imports/."""
from django.urls import path

from textpilot.integrations.imports import views as import_views

app_name = "imports"

urlpatterns = [
    path("", import_views.import_list, name="list"),
    path("<int:import_id>/", import_views.import_detail, name="detail"),
    path("<int:import_id>/mapping/", import_views.import_mapping, name="mapping"),
    path("<int:import_id>/progress/", import_views.import_progress, name="progress"),
    path("<int:import_id>/retry/", import_views.import_retry, name="retry"),
    path("<int:import_id>/discard/", import_views.import_discard, name="discard"),
    path("<int:import_id>/rejected.csv", import_views.import_rejected, name="rejected"),
]

"""Data-management pages (under /data/)."""

from django.urls import path

from .views import audit, casebook, locks, queries

app_name = "datamanagement"

urlpatterns = [
    path("", casebook.home, name="home"),
    path("audit/", audit.review, name="audit"),
    path("audit.csv", audit.export_csv, name="audit_csv"),
    path("queries/", queries.query_list, name="queries"),
    path("queries/<int:pk>/", queries.query_detail, name="query"),
    path("p/<str:trial_id>/", casebook.casebook, name="casebook"),
    path("p/<str:trial_id>/query/", queries.raise_query, name="raise_query"),
    path("p/<str:trial_id>/verify/<int:pk>/", casebook.verify, name="verify"),
    path("p/<str:trial_id>/sign/", casebook.sign_casebook, name="sign"),
    path("locks/", locks.lock_list, name="locks"),
    path("locks/<int:pk>/unlock/", locks.request_unlock, name="request_unlock"),
    path("unlock-requests/<int:pk>/", locks.decide, name="decide"),
]

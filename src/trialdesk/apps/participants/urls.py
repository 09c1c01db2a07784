from django.urls import path

from . import views

app_name = "participants"
urlpatterns = [
    path("", views.participant_list, name="list"),
    path("<str:trial_id>/", views.participant_detail, name="detail"),
    path("<str:trial_id>/personal/", views.personal_data, name="personal"),
    path("<str:trial_id>/personal/correct/", views.correct_personal_data, name="correct_personal"),
    path("<str:trial_id>/status/", views.record_status, name="status"),
]

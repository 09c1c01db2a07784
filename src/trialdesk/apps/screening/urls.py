from django.urls import path

from . import views

app_name = "screening"
urlpatterns = [
    path("", views.screening_log, name="log"),
    path("new/", views.screen_person, name="new"),
    path("rescreen/<str:trial_id>/", views.rescreen_person, name="rescreen"),
]

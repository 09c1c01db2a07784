from django.urls import path

from . import views

app_name = "registers"
urlpatterns = [
    path("", views.upload, name="upload"),
    path("<int:pk>/", views.detail, name="detail"),
    path("jobs/<int:pk>/", views.job, name="job"),
]

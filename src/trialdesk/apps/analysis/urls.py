from django.urls import path

from . import views

app_name = "analysis"
urlpatterns = [
    path("", views.runs, name="runs"),
    path("runs/<int:pk>/", views.run, name="run"),
    path("runs/<int:pk>/report/<str:version>/", views.report, name="report"),
    path("dashboard/", views.dashboard, name="dashboard"),
    path("dashboard/by-arm/", views.dashboard_by_arm, name="dashboard-by-arm"),
]

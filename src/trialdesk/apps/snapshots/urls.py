from django.urls import path

from . import views

app_name = "snapshots"
urlpatterns = [
    path("", views.index, name="index"),
    path("table/<slug:name>.csv", views.table_csv, name="table"),
    path("download/<slug:fmt>/", views.download, name="download"),
]

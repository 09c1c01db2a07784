from django.urls import path

from . import views

app_name = "randomisation"
urlpatterns = [
    path("lists/", views.allocation_lists, name="lists"),
    path("lists/<int:pk>/activate/", views.activate_list, name="activate"),
    path("unblinding/", views.unblinding_list, name="unblinding"),
    path("unblinding/<int:pk>/", views.unblinding_detail, name="unblinding_detail"),
    path("unblinding/new/<str:trial_id>/", views.request_unblinding, name="request_unblinding"),
    path("<str:trial_id>/", views.randomise_participant, name="randomise"),
]

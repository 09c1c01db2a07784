from django.urls import path

from . import staff_views

app_name = "staff"

urlpatterns = [
    path("", staff_views.staff_list, name="list"),
    path("add/", staff_views.add, name="add"),
    path("<int:pk>/", staff_views.detail, name="detail"),
    path("<int:pk>/details/", staff_views.details, name="details"),
    path("<int:pk>/grant/", staff_views.grant, name="grant"),
    path("<int:pk>/activation/", staff_views.activation, name="activation"),
    path("<int:pk>/password/", staff_views.password, name="password"),
    path("<int:pk>/two-factor/", staff_views.two_factor, name="two_factor"),
    path("role/<int:pk>/revoke/", staff_views.revoke, name="revoke"),
]

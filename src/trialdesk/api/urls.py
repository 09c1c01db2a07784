from django.urls import path

from . import web

app_name = "api-tokens"
urlpatterns = [
    path("", web.token_page, name="list"),
    path("<int:pk>/revoke/", web.revoke, name="revoke"),
]

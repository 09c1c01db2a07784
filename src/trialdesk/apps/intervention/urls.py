from django.urls import path

from .views import dose, fidelity, goals, groups, home, sessions

app_name = "intervention"
urlpatterns = [
    path("", home.home, name="home"),
    path("groups/", groups.group_list, name="groups"),
    path("groups/<int:pk>/", groups.group_detail, name="group"),
    path("groups/<int:pk>/action/", groups.group_action, name="group_action"),
    path("waiting/", groups.waiting_list, name="waiting"),
    path("memberships/<int:pk>/leave/", groups.leave, name="leave"),
    path("sessions/<int:pk>/", sessions.session_page, name="session"),
    path("sessions/<int:pk>/attendance/", sessions.attendance, name="attendance"),
    *[
        path(f"sessions/<int:pk>/{what}/", sessions.session_change, {"what": what}, name=f"session_{what}")
        for what in ("hold", "cancel", "reschedule")
    ],
    path("participants/<str:trial_id>/goals/", goals.goals, name="goals"),
    path("participants/<str:trial_id>/steps/<int:pk>/done/", goals.step_done, name="step_done"),
    path("fidelity/", fidelity.fidelity, name="fidelity"),
    path("fidelity/rate/", fidelity.rate, name="rate"),
    path("dose/", dose.dose, name="dose"),
    path("dose.csv", dose.dose_csv, name="dose_csv"),
]

from django.urls import include, path

from interop_app import views

urlpatterns = [
    path("o/", include("oauth2_provider.urls", namespace="oauth2_provider")),
    path("api/v1/me", views.me, name="me"),
    path("api/v1/items", views.items, name="items"),
    path("_stats", views.stats_view, name="stats"),
    path("_stats/reset", views.stats_reset, name="stats-reset"),
]

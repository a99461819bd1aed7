from django.urls import path

from addons.web.api_conventions import api_view

from . import api, companion, pages

urlpatterns = [
    path("follow/", pages.follow_page, name="follow"),
    path("api/follow", api_view(api.FollowView), name="api-follow"),
    path("api/follow/viewers", api_view(api.ViewersView), name="api-follow-viewers"),
    path("api/follow/viewers/<int:pk>", api_view(api.ViewerView), name="api-follow-viewer"),
    path("api/follow/secret", api_view(api.SecretView), name="api-follow-secret"),
    path("api/follow/stremio", api_view(api.StremioView), name="api-follow-stremio"),
    path("api/follow/trakt/device", api_view(api.TraktDeviceView), name="api-follow-trakt-device"),
    path("api/follow/trakt", api_view(api.TraktView), name="api-follow-trakt"),
    path("api/follow/sync", api_view(api.SyncView), name="api-follow-sync"),
    path("api/follow/targets", api_view(api.TargetsView), name="api-follow-targets"),
    path("api/follow/warm", api_view(api.WarmView), name="api-follow-warm"),
    path("api/follow/plays", api_view(api.PlaysView), name="api-follow-plays"),
    # The companion addon: public apart from its secret (see companion.py).
    path("watch/<str:secret>/manifest.json", companion.manifest, name="companion-manifest"),
    path("watch/<str:secret>/stream/<str:content_type>/<str:video_id>.json", companion.stream,
         name="companion-stream"),
]

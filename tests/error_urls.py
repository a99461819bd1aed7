"""The site's URLs plus one that fails: the styled 500 page is what a bug shows."""

from django.urls import path

from prefetcher_site.urls import urlpatterns as site_urlpatterns


def broken(request):
    raise RuntimeError("a bug")


urlpatterns = [path("broken/", broken), *site_urlpatterns]

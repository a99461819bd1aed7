"""The Follow page (signed in): the household's viewers, then the chosen viewer's (`?viewer=<id>`,
else the first) companion addon, accounts and targets, and the household's hit rate. It renders the
state once; its script acts through /api/follow… and renders the answers."""

from django.http import Http404
from django.shortcuts import render
from rest_framework.exceptions import ValidationError

from addons.web.api_conventions import IdField

from . import services
from .plays import plays_summary, summary_line


def follow_page(request):
    viewer = services.chosen_viewer(_viewer_id(request))
    base_url = services.site_url(request)
    summary = plays_summary(7)
    return render(request, "follow/follow.html", {
        "state": services.follow_state(viewer, base_url), "viewers": services.viewer_states(base_url),
        "targets": services.target_rows(viewer), "summary": summary, "summary_line": summary_line(summary),
    })


def _viewer_id(request) -> int | None:
    given = request.GET.get("viewer")
    if given is None:
        return None
    try:
        return IdField().run_validation(given)
    except ValidationError:
        raise Http404("No such viewer") from None

"""The Follow page (signed in): the companion addon, the accounts, the targets and the hit rate.
It renders the state once; its script acts through /api/follow… and renders the answers."""

from django.shortcuts import render

from . import services
from .plays import plays_summary, summary_line


def follow_page(request):
    viewer = services.default_viewer()
    state = services.follow_state(viewer, services.site_url(request))
    summary = plays_summary(7, viewer)
    return render(request, "follow/follow.html", {
        "state": state, "targets": services.target_rows(viewer), "summary": summary,
        "summary_line": summary_line(summary),
    })

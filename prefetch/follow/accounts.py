"""The viewers' Stremio and Trakt accounts: connect, disconnect, and the sync that reads them into
targets (the pure reading and computing is in `sources`). Secrets (authKey, tokens) are stored only
here, never shown, exported or logged, and deleted on disconnect."""

import logging

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from prefetch.models import PrefetchSettings

from .models import StremioLink, Target, Viewer
from .services import request_follow_run
from .sources.service import ServiceError
from .sources.stremio_account import StremioAccount

logger = logging.getLogger("prefetch.follow")

__all__ = ["ServiceError", "connect_stremio", "disconnect_stremio"]


def stremio_account() -> StremioAccount:
    return StremioAccount(settings.STREMIO_API_URL)


def connect_stremio(viewer: Viewer, email: str = "", password: str = "", auth_key: str = "") -> StremioLink:
    """With email and password (used for this one call) or a pasted authKey; raises ServiceError."""
    account = stremio_account()
    signed_in = account.user(auth_key) if auth_key else account.sign_in(email, password)
    link, _ = StremioLink.objects.update_or_create(
        viewer=viewer, defaults={"auth_key": signed_in.auth_key, "user_email": signed_in.email[:254],
                                 "last_error": "", "last_read_at": None})
    logger.info("Stremio account connected for %s", viewer)
    return link


def disconnect_stremio(viewer: Viewer) -> None:
    """The session is ended on Stremio's side when it answers; the authKey is deleted either way."""
    link = StremioLink.objects.filter(viewer=viewer).first()
    if link is None:
        return
    try:
        stremio_account().sign_out(link.auth_key)
    except ServiceError as error:
        logger.warning("Stremio sign-out for %s: %s (the authKey is deleted anyway)", viewer, error)
    with transaction.atomic():
        link.delete()
        Target.objects.filter(viewer=viewer, source="stremio").delete()


def sync_and_warm() -> None:
    """Beat's sync: every viewer's accounts read into targets, then a follow run if any is cold."""
    for viewer in Viewer.objects.all():
        sync_viewer(viewer)
    request_follow_run(trigger_skipped=True)

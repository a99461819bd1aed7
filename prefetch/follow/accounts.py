"""The viewers' Stremio and Trakt accounts: connect, disconnect, and the sync that reads them into
targets (reading the services and computing the targets is `sources`). Secrets (the authKey, the
tokens, the device code) are stored only here, never shown, exported or logged, and deleted on
disconnect."""

import logging
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from prefetch.engine.records import Announcement
from prefetch.models import PrefetchSettings
from prefetch.record_store import DatabaseRecordStore
from prefetch.runs.plan import plan_from_database

from .episodes import SeriesEpisodes
from .models import Source, StremioLink, Target, TraktLink, Viewer
from .services import request_follow_run
from .sources.service import REFUSED, ServiceError
from .sources.stremio_account import StremioAccount
from .sources.targets import STREMIO, TRAKT, Collected, collect_targets, episode_position
from .sources.trakt import APPROVED, TraktApp, TraktSession, TraktTokens

logger = logging.getLogger("prefetch.follow")

__all__ = ["ServiceError"]


class TraktUnavailable(ServiceError):
    def __init__(self):
        super().__init__("Trakt", "not available: set TRAKT_CLIENT_ID and TRAKT_CLIENT_SECRET", REFUSED)


# --- Stremio -------------------------------------------------------------------------------------------
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
        Target.objects.filter(viewer=viewer, source=Source.STREMIO).delete()


# --- Trakt ---------------------------------------------------------------------------------------------
def trakt_app() -> TraktApp:
    if not (settings.TRAKT_CLIENT_ID and settings.TRAKT_CLIENT_SECRET):
        raise TraktUnavailable()
    return TraktApp(settings.TRAKT_API_URL, settings.TRAKT_CLIENT_ID, settings.TRAKT_CLIENT_SECRET)


def _tokens(link: TraktLink) -> TraktTokens:
    return TraktTokens(link.access_token, link.refresh_token, link.expires_at.timestamp() if link.expires_at else 0)


def _store_tokens(link: TraktLink, tokens: TraktTokens) -> None:
    """At once: after a refresh the old pair no longer works."""
    link.access_token, link.refresh_token = tokens.access_token, tokens.refresh_token
    link.expires_at = datetime.fromtimestamp(tokens.expires_at, UTC)
    TraktLink.objects.filter(pk=link.pk).update(access_token=link.access_token, refresh_token=link.refresh_token,
                                                expires_at=link.expires_at)


def _session(link: TraktLink) -> TraktSession:
    return trakt_app().session(_tokens(link), on_refresh=lambda tokens: _store_tokens(link, tokens))


def _read_username(link: TraktLink, session: TraktSession) -> None:
    """Whom the connection is for, to show it. Only a label: when Trakt does not say, the connection
    stands and keeps the name it had (blank at first)."""
    try:
        username = session.username()
    except ServiceError as error:
        logger.warning("Trakt account name for %s not read: %s", link.viewer, error)
        return
    link.username = username[:100]
    TraktLink.objects.filter(pk=link.pk).update(username=link.username)


def start_trakt_device(viewer: Viewer) -> dict:
    """A device code: the page shows the user code and the URL, then polls (poll_trakt_device)."""
    code = trakt_app().start_device()
    now = timezone.now()
    TraktLink.objects.update_or_create(viewer=viewer, defaults={
        "device_code": code.device_code, "user_code": code.user_code, "verification_url": code.verification_url,
        "device_expires_at": now + timedelta(seconds=code.expires_in), "poll_interval_s": code.interval,
        "next_poll_at": now + timedelta(seconds=code.interval), "last_error": "",
        "access_token": "", "refresh_token": "", "expires_at": None, "username": "",
    })
    return {"user_code": code.user_code, "verification_url": code.verification_url, "expires_in": code.expires_in,
            "interval": code.interval}


def poll_trakt_device(viewer: Viewer, now: datetime | None = None) -> None:
    """One step of the device flow when its interval has passed: connected, still waiting (slower after
    a "slow down"), or ended with the reason (expired, denied, used) in plain words."""
    link = TraktLink.objects.filter(viewer=viewer).first()
    now = now or timezone.now()
    if link is None or not link.pending or (link.next_poll_at and now < link.next_poll_at):
        return
    if link.device_expires_at and now >= link.device_expires_at:
        _end_device(link, "Trakt: the code expired: start again")
        return
    try:
        poll = trakt_app().poll_device(link.device_code, link.poll_interval_s)
    except ServiceError as error:
        _end_device(link, str(error))
        return
    if poll.state == APPROVED:
        _store_tokens(link, poll.tokens)
        _end_device(link, "", connected_at=now)
        _read_username(link, _session(link))
        logger.info("Trakt connected for %s as %s", viewer, link.username or "an unnamed account")
    elif poll.finished:
        _end_device(link, f"Trakt: {poll.message}")
    else:
        TraktLink.objects.filter(pk=link.pk).update(poll_interval_s=poll.interval_s,
                                                    next_poll_at=now + timedelta(seconds=poll.interval_s))


def _end_device(link: TraktLink, error: str, **fields) -> None:
    TraktLink.objects.filter(pk=link.pk).update(device_code="", user_code="", verification_url="",
                                                device_expires_at=None, next_poll_at=None, last_error=error, **fields)


def disconnect_trakt(viewer: Viewer) -> None:
    """The tokens are revoked on Trakt when it answers, and deleted either way."""
    link = TraktLink.objects.filter(viewer=viewer).first()
    if link is None:
        return
    if link.connected:
        try:
            trakt_app().revoke(_tokens(link))
        except ServiceError as error:
            logger.warning("Trakt revoke for %s: %s (the tokens are deleted anyway)", viewer, error)
    with transaction.atomic():
        link.delete()
        Target.objects.filter(viewer=viewer, source=Source.TRAKT).delete()


def delete_viewer(viewer: Viewer) -> None:
    """Signs out of Stremio and revokes Trakt (the disconnects above), then deletes the viewer with
    their targets and plays; their companion URL answers 404 from then on."""
    disconnect_stremio(viewer)
    disconnect_trakt(viewer)
    viewer.delete()
    logger.info("Viewer %s deleted", viewer)


# --- the sync ------------------------------------------------------------------------------------------
def sync_viewer(viewer: Viewer, now: datetime | None = None) -> dict:
    """Read the viewer's accounts and replace their targets; a service that fails keeps the targets it
    named before and says why on its connection. Episodes airing soon go to release-day warming."""
    now = now or timezone.now()
    stremio = StremioLink.objects.filter(viewer=viewer).first()
    trakt = TraktLink.objects.filter(viewer=viewer).exclude(access_token="").first()
    episodes = SeriesEpisodes(plan_from_database())
    session = None
    if trakt is not None:
        try:
            session = _session(trakt)
        except TraktUnavailable as error:
            TraktLink.objects.filter(pk=trakt.pk).update(last_error=str(error))
    collected = collect_targets(stremio=(stremio_account(), stremio.auth_key) if stremio else None, trakt=session,
                                series_videos=episodes, now=now, k=PrefetchSettings.load().follow_next_episodes)
    if session and TRAKT not in collected.errors:
        _read_username(trakt, session)  # one more call on the session just read: the name follows a rename
    with transaction.atomic():
        _replace_targets(viewer, collected, now)
        for source, link in ((STREMIO, stremio), (TRAKT, trakt if session else None)):
            if link is not None:
                error = collected.errors.get(source)
                type(link).objects.filter(pk=link.pk).update(
                    last_error=str(error)[:300] if error else "", **({} if error else {"last_read_at": now}))
    DatabaseRecordStore().remember_announced([
        Announcement("series", upcoming.series_id, episodes.name(upcoming.series_id), upcoming.video_id,
                     "S{:02d}E{:02d}".format(*episode_position(upcoming.video_id)), upcoming.airs_at)
        for upcoming in collected.upcoming
    ])
    return {"targets": len(collected.targets), "upcoming": len(collected.upcoming),
            "errors": {source: str(error) for source, error in collected.errors.items()}}


def _replace_targets(viewer: Viewer, collected: Collected, now: datetime) -> None:
    kept = [target for target in viewer.targets.all()
            if any(source in target.source.split("+") for source in collected.errors)]
    fresh = {target.video_id for target in collected.targets}
    viewer.targets.all().delete()
    Target.objects.bulk_create(
        [Target(viewer=viewer, content_type=t.type, video_id=t.video_id, source=t.source, reason=t.reason[:300],
                computed_at=now) for t in collected.targets]
        + [Target(viewer=viewer, content_type=t.content_type, video_id=t.video_id, source=t.source, reason=t.reason,
                  computed_at=t.computed_at) for t in kept if t.video_id not in fresh]
    )


def sync_and_warm() -> None:
    """Beat's sync: every viewer's accounts read into targets, then a follow run if any is cold."""
    for viewer in Viewer.objects.all():
        sync_viewer(viewer)
    request_follow_run(trigger_skipped=True)

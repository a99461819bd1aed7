"""Who watches what: viewers with their companion addon, their Stremio and Trakt accounts, what to
keep warm for them (targets, recomputed by each sync) and what they opened (plays, with whether it
was warm). The viewers of one household share an installation, each with their own companion URL
and accounts; the first one is the default (see services.chosen_viewer).

Tokens, the Stremio authKey and the companion secret are secrets: never exported, never shown in
full, deleted on disconnect (see services)."""

import secrets

from django.db import models

SECRET_BYTES = 24


def new_companion_secret() -> str:
    return secrets.token_urlsafe(SECRET_BYTES)


class Viewer(models.Model):
    name = models.CharField(max_length=100, unique=True)
    companion_secret = models.CharField(max_length=64, unique=True, default=new_companion_secret)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]

    def __str__(self):
        return self.name


class StremioLink(models.Model):
    """A signed-in Stremio account: the authKey only (the password is used once to get it)."""

    viewer = models.OneToOneField(Viewer, on_delete=models.CASCADE, related_name="stremio")
    auth_key = models.CharField(max_length=300)
    user_email = models.CharField(max_length=254, blank=True)
    connected_at = models.DateTimeField(auto_now_add=True)
    last_read_at = models.DateTimeField(null=True, blank=True, help_text="When the library was last read.")
    last_error = models.CharField(max_length=300, blank=True)

    def __str__(self):
        return f"Stremio account of {self.viewer}"


class TraktLink(models.Model):
    """A Trakt connection: a device code waiting for the user's approval, then tokens."""

    viewer = models.OneToOneField(Viewer, on_delete=models.CASCADE, related_name="trakt")
    username = models.CharField(max_length=100, blank=True,
                                help_text="The account connected, as Trakt names it; blank until Trakt has said.")
    access_token = models.CharField(max_length=200, blank=True)
    refresh_token = models.CharField(max_length=200, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    device_code = models.CharField(max_length=200, blank=True)
    user_code = models.CharField(max_length=40, blank=True)
    verification_url = models.CharField(max_length=300, blank=True)
    device_expires_at = models.DateTimeField(null=True, blank=True)
    poll_interval_s = models.PositiveIntegerField(default=5)
    next_poll_at = models.DateTimeField(null=True, blank=True)
    connected_at = models.DateTimeField(null=True, blank=True)
    last_read_at = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=300, blank=True)

    def __str__(self):
        return f"Trakt connection of {self.viewer}"

    @property
    def connected(self) -> bool:
        return bool(self.access_token)

    @property
    def pending(self) -> bool:
        return bool(self.device_code) and not self.connected


class Source(models.TextChoices):
    STREMIO = "stremio", "Stremio"
    TRAKT = "trakt", "Trakt"


class Target(models.Model):
    """A video to keep warm for a viewer, from the last sync."""

    viewer = models.ForeignKey(Viewer, on_delete=models.CASCADE, related_name="targets")
    content_type = models.TextField("type")
    video_id = models.TextField()
    source = models.CharField(max_length=20)
    reason = models.CharField(max_length=300)
    computed_at = models.DateTimeField()

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["viewer", "content_type", "video_id"], name="one_target_per_video")
        ]

    def __str__(self):
        return f"{self.video_id} ({self.source}: {self.reason})"


class MissReason(models.TextChoices):
    NEVER_WARMED = "never warmed"
    EXPIRED = "expired"
    FAILED = "failed"
    NOT_SERVED = "not served"


class Play(models.Model):
    """A video a viewer opened (the companion addon was asked for its streams), and whether every
    stream addon serving it had a successful, unexpired record at that moment."""

    viewer = models.ForeignKey(Viewer, on_delete=models.CASCADE, related_name="plays")
    content_type = models.TextField("type")
    video_id = models.TextField()
    at = models.DateTimeField()
    warm = models.BooleanField()
    miss_reason = models.CharField(max_length=20, choices=MissReason.choices, blank=True)
    warmed_by = models.CharField(max_length=20, blank=True, help_text="What warmed it: catalog, follow, release, next episode.")

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["viewer", "at"], name="play_viewer_at_idx")]

    def __str__(self):
        return f"{self.video_id} at {self.at:%Y-%m-%d %H:%M} ({'warm' if self.warm else self.miss_reason})"


class LaneWarm(models.Model):
    """A stream answer the companion's lane got (outside any run): the record of that answer was
    warmed by "next episode", which the hit rate names as the source."""

    addon_key = models.CharField(max_length=40)
    content_type = models.TextField("type")
    video_id = models.TextField()
    at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["addon_key", "content_type", "video_id"], name="one_lane_warm_per_video")
        ]

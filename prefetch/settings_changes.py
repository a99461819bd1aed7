"""Changes of the engine settings: the one way the Settings page, the API, the admin and the
configuration import write them."""

from .models import PrefetchSettings
from .runs.active import configuration_change


def save_settings(row: PrefetchSettings) -> PrefetchSettings:
    """Validate (`full_clean`: ValidationError with messages per field) and save, refused with
    ConfigLocked while a run is active. Validation may resolve a host name: it runs before the
    guard's transaction."""
    row.full_clean()
    with configuration_change():
        row.save()
    return row

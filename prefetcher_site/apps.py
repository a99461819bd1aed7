from django.apps import AppConfig, apps
from django.db.models.signals import post_migrate


class SiteConfig(AppConfig):
    """The site itself as an app: its management commands (serve, healthcheck, configuration
    import/export) and the admin account made from the environment after migrations."""

    name = "prefetcher_site"
    verbose_name = "Streams Prefetcher"

    def ready(self):
        from .accounts import ensure_admin_from_env

        # post_migrate is sent per app with models; this app has none, the accounts live in auth.
        post_migrate.connect(ensure_admin_from_env, sender=apps.get_app_config("auth"))

from django.apps import AppConfig
from django.db.models.signals import post_migrate


class PrefetchConfig(AppConfig):
    name = "prefetch"
    verbose_name = "Prefetch"

    def ready(self):
        from .accounts import ensure_admin_from_env

        post_migrate.connect(ensure_admin_from_env, sender=self)

from django.apps import AppConfig


class PrefetchConfig(AppConfig):
    name = "prefetch"
    verbose_name = "Prefetch"

    def ready(self):
        from addons import services as addon_services

        from .models import PrefetchSettings

        addon_services.proxy_source = lambda: PrefetchSettings.load().proxy_url or None

from django.apps import AppConfig


class PrefetchConfig(AppConfig):
    name = "prefetch"
    verbose_name = "Prefetch"

from django.apps import AppConfig


class FollowConfig(AppConfig):
    name = "prefetch.follow"
    label = "follow"
    verbose_name = "Follow what's watched"

"""Sign-in plumbing: the first admin account comes from the environment or from a first-run page."""

import ipaddress
import logging

from django import forms
from django.conf import settings
from django.contrib.auth import get_user_model, login
from django.contrib.auth.decorators import login_not_required
from django.contrib.auth.forms import UserCreationForm
from django.contrib.auth.middleware import LoginRequiredMiddleware as DjangoLoginRequiredMiddleware
from django.contrib.auth.middleware import RemoteUserMiddleware
from django.http import JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse

logger = logging.getLogger("prefetcher_site.accounts")


def ensure_admin_from_env(**_) -> None:
    """post_migrate hook: create ADMIN_USERNAME with ADMIN_PASSWORD(_FILE) once, if both are set."""
    username, password = settings.ADMIN_USERNAME, settings.ADMIN_PASSWORD
    if not (username and password):
        return
    User = get_user_model()
    if not User.objects.filter(username=username).exists():
        User.objects.create_superuser(username=username, password=password)
        logger.info("Created the admin account %r from the environment", username)


def needs_first_run() -> bool:
    return not get_user_model().objects.exists()


# The companion addon (prefetch.follow) is public apart from its secret: Stremio never signs in.
PUBLIC_PATHS = ("/static/", "/api/health", "/metrics", "/watch/")


class LoginRequiredMiddleware(DjangoLoginRequiredMiddleware):
    """Django's, but a public view is served without looking up the user: Django's checks the
    session first, so with a session cookie /api/health failed on the database it should report."""

    def process_view(self, request, view_func, view_args, view_kwargs):
        if not getattr(view_func, "login_required", True):
            return None
        return super().process_view(request, view_func, view_args, view_kwargs)


class FirstRunMiddleware:
    """Until an account exists, every page leads to the first-run page (the API answers 503)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        # Health, metrics and static files answer before any account exists, and never wait on
        # the database here (health must report a database outage, not fail on it). Asked on each
        # request (one indexed EXISTS), not remembered: accounts removed in the admin or by a
        # restore bring the first-run page back.
        if not request.path.startswith(PUBLIC_PATHS) and needs_first_run():
            setup_path = reverse("first-run")
            if request.path.startswith("/api/"):
                return JsonResponse({"success": False, "error": "Create the first account at /setup/ first."}, status=503)
            if request.path != setup_path:
                return redirect(setup_path)
        return self.get_response(request)


class FirstAccountForm(UserCreationForm):
    class Meta(UserCreationForm.Meta):
        model = get_user_model()
        fields = ("username",)
        widgets = {"username": forms.TextInput(attrs={"autofocus": True, "autocomplete": "username"})}


@login_not_required
def first_run(request):
    if not needs_first_run():
        return redirect("login")
    form = FirstAccountForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        user = form.save(commit=False)
        user.is_staff = user.is_superuser = True
        user.save()
        login(request, user, backend="django.contrib.auth.backends.ModelBackend")
        return redirect("/")
    return render(request, "registration/first_run.html", {"form": form})


class TrustedProxyRemoteUserMiddleware(RemoteUserMiddleware):
    """Sign in the user named by the reverse proxy's header (Authelia, Authentik: `Remote-User`),
    but only for requests that come straight from REMOTE_USER_TRUSTED_PROXIES; anyone else sending
    the header is ignored. Installed only when those proxies are configured."""

    async_capable = False
    force_logout_if_no_header = False  # sessions from the sign-in page keep working

    def __init__(self, get_response):
        super().__init__(get_response)
        self.header = "HTTP_" + settings.REMOTE_USER_HEADER.upper().replace("-", "_")
        self.networks = [ipaddress.ip_network(net, strict=False) for net in settings.REMOTE_USER_TRUSTED_PROXIES]

    def process_request(self, request):
        try:
            peer = ipaddress.ip_address(request.META.get("REMOTE_ADDR", ""))
        except ValueError:
            peer = None
        if peer is None or not any(peer in network for network in self.networks):
            if request.META.pop(self.header, None) is not None:
                logger.warning("Ignored a %s header from %s, which is not a trusted proxy",
                               settings.REMOTE_USER_HEADER, request.META.get("REMOTE_ADDR"))
            return
        super().process_request(request)

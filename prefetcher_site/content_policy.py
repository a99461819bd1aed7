"""Content-Security-Policy exceptions that cannot be expressed per view."""

# django-celery-beat's periodic task form (admin) runs one inline script: the readable-crontab help.
# Allowed by its hash, on admin pages only; tests/test_csp_browser.py visits that form, so a package
# upgrade that changes the script shows up there as a violation.
CELERY_BEAT_FORM_SCRIPT = "'sha256-QE3U2xYF7B4J2ro1/9oxiKhaWCGW39gB7ocQ/xlD0bE='"


class AdminScriptHashMiddleware:
    """Adds the admin's known inline script hashes to script-src (read by django-csp's middleware,
    which must come before this one in MIDDLEWARE)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if request.path.startswith("/admin/"):
            response._csp_update = {"script-src": [CELERY_BEAT_FORM_SCRIPT]}
        return response

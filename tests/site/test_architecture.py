"""The layout's rules: imports go one way, from the wiring down, no app patches another, an app's
web package is wired by the site, and the engine is plain Python."""

import ast
import os
import subprocess
import sys
from pathlib import Path

from tests.helpers import ROOT

# Each app may import the ones after it, never those before it.
LAYERS = ["prefetcher_site", "schedules", "prefetch", "addons"]


def project_imports(path: Path, source: str | None = None):
    """(line, name) of every import of a project module in the file (`source`, else its text), at any
    depth: `from a.b import c` gives a.b.c, whether c is a module or a name in a.b."""
    package = ".".join(path.relative_to(ROOT).with_suffix("").parts[:-1])
    for node in ast.walk(ast.parse(path.read_text() if source is None else source, str(path))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(parent + ([node.module] if node.module else []))
            names = [f"{base}.{alias.name}" for alias in node.names]
        else:
            continue
        for name in names:
            if name.split(".")[0] in LAYERS:
                yield node.lineno, name


def test_apps_import_only_the_layers_below_them():
    upward = []
    for layer, app in enumerate(LAYERS):
        for path in sorted((ROOT / app).rglob("*.py")):
            for line, module in project_imports(path):
                if LAYERS.index(module.split(".")[0]) < layer:
                    upward.append(f"{path.relative_to(ROOT)}:{line} imports {module}")
    assert upward == []


# The conventions every app's API shares, which the bottom app's web package holds.
SHARED_WEB_MODULES = ("addons.web.api_conventions", "addons.web.json_parser")


def reaches_into_other_web_packages(path: Path, source: str | None = None):
    """(line, name) of each import, in a module outside the site and outside a `web` package, of
    another app's `web` package other than the shared conventions: an app's pages and API are wired
    by the site, and what other apps need of them belongs below the web layer."""
    relative = path.relative_to(ROOT)
    app = relative.parts[0]
    if app == LAYERS[0] or "web" in relative.parts[:-1]:
        return
    for line, name in project_imports(path, source):
        parts = name.split(".")
        shared = any(name == module or name.startswith(module + ".") for module in SHARED_WEB_MODULES)
        if parts[0] != app and "web" in parts[1:-1] and not shared:
            yield line, name


def test_only_the_site_and_web_packages_import_another_apps_web_package():
    reaching = [
        f"{path.relative_to(ROOT)}:{line} imports {name}"
        for app in LAYERS
        for path in sorted((ROOT / app).rglob("*.py"))
        for line, name in reaches_into_other_web_packages(path)
    ]
    assert reaching == []


def test_the_web_package_check_finds_what_it_looks_for():
    source = (
        "from addons.web.api_conventions import api_view\n"
        "from addons.web import json_parser\n"
        "from addons.web import serializers\n"
        "from prefetch.web.forms import AmountField\n"
        "from .models import Schedule\n"
    )
    found = [name for _, name in reaches_into_other_web_packages(ROOT / "schedules" / "forms.py", source)]
    assert found == ["addons.web.serializers", "prefetch.web.forms.AmountField"]
    assert list(reaches_into_other_web_packages(ROOT / "prefetch" / "web" / "config_api.py", source)) == []
    assert list(reaches_into_other_web_packages(ROOT / "prefetcher_site" / "urls.py", source)) == []


def test_the_engine_imports_nothing_of_the_app_around_it():
    outside = [
        f"{path.relative_to(ROOT)}:{line} imports {module}"
        for path in sorted((ROOT / "prefetch" / "engine").rglob("*.py"))
        for line, module in project_imports(path)
        if module.startswith("prefetch") and not module.startswith("prefetch.engine")
    ]
    assert outside == []


def test_the_engine_imports_without_django():
    env = {key: value for key, value in os.environ.items() if key != "DJANGO_SETTINGS_MODULE"}
    probe = (
        "import sys, prefetch.engine\n"
        "loaded = sorted(m for m in sys.modules if m == 'django' or m.startswith('django.'))\n"
        "print(loaded)\n"
        "sys.exit(1 if loaded else 0)"
    )
    result = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr


def assignments_into_other_apps(source: str, path: Path):
    """(line, target) of every attribute this file sets, anywhere (module level, `ready()`, any
    function), on something imported from another app (`module.name = …` or `setattr(module, …)`):
    wiring that hides a dependency from the import rule; what an app needs from above is passed in."""
    tree = ast.parse(source, str(path))
    package = ".".join(path.relative_to(ROOT).with_suffix("").parts[:-1])
    app = package.split(".")[0]
    modules = {}  # a local name -> the module (or module attribute) it stands for
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            modules.update({alias.asname or alias.name.split(".")[0]: alias.name for alias in node.names})
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(parent + ([node.module] if node.module else []))
            modules.update({alias.asname or alias.name: f"{base}.{alias.name}" for alias in node.names})
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign):
            targets = node.targets
        elif isinstance(node, (ast.AugAssign, ast.AnnAssign)):
            targets = [node.target]
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "setattr":
            targets = [ast.Attribute(value=node.args[0], attr="…")] if node.args else []
        else:
            continue
        for target in targets:
            owner = target.value if isinstance(target, ast.Attribute) else None
            while isinstance(owner, ast.Attribute):
                owner = owner.value
            if isinstance(owner, ast.Name) and owner.id in modules:
                module = modules[owner.id]
                if module.split(".")[0] in LAYERS and module.split(".")[0] != app:
                    yield node.lineno, f"{module} ({ast.unparse(target)})"


def test_no_app_assigns_into_another_app():
    wired = [
        f"{path.relative_to(ROOT)}:{line} sets {target}"
        for app in LAYERS
        for path in sorted((ROOT / app).rglob("*.py"))
        for line, target in assignments_into_other_apps(path.read_text(), path)
    ]
    assert wired == []


def test_the_wiring_check_finds_what_it_looks_for():
    path = ROOT / "schedules" / "apps.py"
    wiring = (
        "from django.apps import AppConfig\n"
        "import addons.services\n"
        "from addons.web import api\n"
        "from prefetch.models import addon_proxy\n"
        "api.AddonAPIView.proxy = addon_proxy\n"
        "class SchedulesConfig(AppConfig):\n"
        "    def ready(self):\n"
        "        from prefetch.web import selectors\n"
        "        from .liveness import schedule_summary\n"
        "        selectors.schedule_summary = schedule_summary\n"
        "        setattr(addons.services, 'proxy_source', None)\n"
        "        self.label_seen = True\n"
    )
    found = sorted(target for _, target in assignments_into_other_apps(wiring, path))
    assert found == ["addons.services (addons.services.…)", "addons.web.api (api.AddonAPIView.proxy)",
                     "prefetch.web.selectors (selectors.schedule_summary)"]


def test_test_modules_share_helpers_through_support_modules_not_each_other():
    """What several test modules need lives in tests/helpers.py, tests/browser.py, the stand-ins or a
    conftest.py: a test module imported by another runs its module-level set-up twice and ties two
    folders' tests together."""
    importing = []
    for path in sorted((ROOT / "tests").rglob("test_*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[-1].startswith("test_"):
                importing.append(f"{path.relative_to(ROOT)}:{node.lineno} imports {node.module}")
    assert importing == []

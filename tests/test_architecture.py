"""The layout's rules: imports go one way, from the wiring down, and the engine is plain Python."""

import ast
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# Each app may import the ones after it, never those before it.
LAYERS = ["prefetcher_site", "schedules", "prefetch", "addons"]


def project_imports(path: Path):
    """(line, module) of every import of a project module in the file, at any depth."""
    package = ".".join(path.relative_to(ROOT).with_suffix("").parts[:-1])
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                names = [".".join(base + ([node.module] if node.module else []))]
            else:
                names = [node.module]
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

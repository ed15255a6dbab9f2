"""Refuse answers that would generate an adapter that cannot be installed or discovered."""

import re
import sys

CHECKS = {
    "package_slug": (
        "{{ cookiecutter.package_slug }}",
        r"astrocyte-[a-z0-9]+(-[a-z0-9]+)*",
        "astrocyte-<backend>, lowercase, dashes",
    ),
    "backend_name": (
        "{{ cookiecutter.backend_name }}",
        r"[a-z][a-z0-9_-]*",
        "lowercase letters, digits, - or _",
    ),
    "backend_label": (
        "{{ cookiecutter.backend_label }}",
        r"[A-Za-z][A-Za-z0-9 _-]*",
        "letters, digits, spaces",
    ),
    "astrocyte_min_version": (
        "{{ cookiecutter.astrocyte_min_version }}",
        r"\d+(\.\d+){0,2}",
        "like 0.1 or 1.2.0",
    ),
}

problems = [
    f"{key}: {value!r} is not valid ({expected})"
    for key, (value, pattern, expected) in CHECKS.items()
    if re.fullmatch(pattern, value) is None
]
if problems:
    print("error: " + "; ".join(problems), file=sys.stderr)
    sys.exit(1)

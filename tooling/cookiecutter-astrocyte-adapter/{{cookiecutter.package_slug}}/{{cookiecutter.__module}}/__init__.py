"""{{ cookiecutter.backend_label }} {{ cookiecutter.__family_label }} for Astrocyte (entry point ``{{ cookiecutter.backend_name }}`` in ``astrocyte.{{ cookiecutter.spi_family }}``)."""

from {{ cookiecutter.__module }}.{{ cookiecutter.__file }} import {{ cookiecutter.__class }}

__all__ = ["{{ cookiecutter.__class }}"]

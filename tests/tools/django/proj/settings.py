"""Minimal settings: only the database, read from DDLGATE_DB_* environment variables."""
import os

SECRET_KEY = "ddlgate-tests-only"
DEBUG = False
USE_TZ = True
INSTALLED_APPS = ["shop", "catalog", "ledger"]
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.postgresql",
        "HOST": os.environ["DDLGATE_DB_HOST"],
        "PORT": os.environ["DDLGATE_DB_PORT"],
        "NAME": os.environ["DDLGATE_DB_NAME"],
        "USER": os.environ["DDLGATE_DB_USER"],
        "PASSWORD": os.environ.get("DDLGATE_DB_PASSWORD", ""),
        "OPTIONS": {"sslmode": "disable"},
    }
}

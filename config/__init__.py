"""Configuration of 回音: one settings object, the org directory and the rules they carry."""

from huiyin.config.errors import ConfigError, HuiyinError
from huiyin.config.settings import Settings, load_settings

__all__ = ["ConfigError", "HuiyinError", "Settings", "load_settings"]

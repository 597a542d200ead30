"""Environment settings: LAKEMESH_CATALOG_URL, LAKEMESH_USER, LAKEMESH_STORAGE override mesh.yaml."""

from __future__ import annotations

from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="LAKEMESH_", env_nested_delimiter="__", extra="ignore")

    catalog_url: str | None = None
    user: str | None = None
    storage: str | None = None
    lock_wait: float | None = None  # seconds a writer waits for another one's lock

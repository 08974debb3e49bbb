"""Offline-by-construction switches, applied once before any heavy import.

Every entry point (the CLI, the Python API, the Gradio page, the tests) imports this module first. It sets the
environment variables that stop Hugging Face, transformers, Chroma and Gradio from reaching the network, and caps
torch's thread count, which keeps query embedding latency steady on small shared machines.
"""

from __future__ import annotations

import os

_OFFLINE_ENV = {
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "HF_HUB_DISABLE_TELEMETRY": "1",
    "HF_DATASETS_OFFLINE": "1",
    "ANONYMIZED_TELEMETRY": "False",
    "CHROMA_TELEMETRY": "False",
    "GRADIO_ANALYTICS_ENABLED": "False",
    "TOKENIZERS_PARALLELISM": "false",
    "DO_NOT_TRACK": "1",
    "HF_HUB_DISABLE_PROGRESS_BARS": "1",
    "TRANSFORMERS_VERBOSITY": "error",
    "TRANSFORMERS_NO_ADVISORY_WARNINGS": "1",
}


def apply_offline_env(threads: int = 1) -> None:
    """Set the offline and thread-count environment variables (idempotent; explicit user values win)."""
    for key, value in _OFFLINE_ENV.items():
        os.environ.setdefault(key, value)
    # llama-index bundles tiktoken encodings and NLTK data and points to them only when these are unset;
    # an inherited empty value would make it try to download, so drop empty ones.
    for key in ("TIKTOKEN_CACHE_DIR", "NLTK_DATA"):
        if os.environ.get(key) == "":
            del os.environ[key]
    os.environ.setdefault("OMP_NUM_THREADS", str(threads))
    os.environ.setdefault("MKL_NUM_THREADS", str(threads))


def configure_torch_threads(threads: int) -> None:
    """Cap torch's intra-op threads (call after torch is importable)."""
    import torch

    if torch.get_num_threads() != threads:
        torch.set_num_threads(threads)


def configure_llama_index() -> None:
    """Make llama-index never fall back to its OpenAI defaults."""
    from llama_index.core import Settings as LlamaSettings
    from llama_index.core.llms import MockLLM

    LlamaSettings.llm = MockLLM()  # never the OpenAI default; MockLLM makes no network call


def _env_threads() -> int:
    """CSTO_QA_TORCH_THREADS when it is a whole number from 1 to 64, else 1 (the settings object reports a bad value
    as a one-line SettingsError; this module runs at import, before there is anywhere to report it)."""
    raw = os.environ.get("CSTO_QA_TORCH_THREADS", "").strip()
    return int(raw) if raw.isdigit() and 1 <= int(raw) <= 64 else 1


apply_offline_env(_env_threads())

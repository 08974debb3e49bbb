"""Query embeddings without torch: the packaged MiniLM exported once to ONNX at index time (from the
sentence-transformers model that embeds the index) and run with onnxruntime and the `tokenizers` library.

The export lives beside the index, in DATA_DIR/onnx/<model key>/ (model.onnx, tokenizer.json, meta.json); it is
written to a temporary folder and renamed into place, so a reader sees a whole export or none. The query vectors
equal the sentence-transformers ones within float rounding (tests/test_cold_path.py).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import tempfile
import warnings
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from index.settings import Settings

log = logging.getLogger(__name__)

EXPORT_DIR = "onnx"
FORMAT = "1"  # bump when the exported graph or its inputs change
_FILES = ("model.onnx", "tokenizer.json", "meta.json")
_INPUTS = ("input_ids", "attention_mask", "token_type_ids")


def model_key(path: Path) -> str:
    """What decides the exported model: the folder's name, its config and the size of its weights."""
    h = hashlib.sha256(f"{path.name}|{FORMAT}".encode())
    for name in ("config.json", "modules.json", "sentence_bert_config.json", "tokenizer.json"):
        f = path / name
        h.update(f.read_bytes() if f.is_file() else b"-")
    for f in sorted(path.glob("*.safetensors")) + sorted(path.glob("*.bin")):
        h.update(f"{f.name}:{f.stat().st_size}".encode())
    return h.hexdigest()[:12]


def export_dir(settings: Settings) -> Path:
    """Where the configured model's ONNX export is kept."""
    return settings.data_dir / EXPORT_DIR / model_key(settings.resolved_model_path())


def has_export(settings: Settings) -> bool:
    """True when the configured model's export is whole."""
    folder = export_dir(settings)
    return all((folder / name).is_file() for name in _FILES)


def ensure_export(settings: Settings, st_model: Any) -> bool:
    """Export the sentence-transformers model to ONNX unless its export is already there; True when written."""
    if has_export(settings):
        return False
    target = export_dir(settings)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=target.parent, prefix=".export-"))
    try:
        _export(st_model, settings.resolved_model_path(), tmp)
        if target.exists():  # a partial export left by a killed build
            shutil.rmtree(target)
        os.replace(tmp, target)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return True


def _export(st_model: Any, model_path: Path, out: Path) -> None:
    """Trace the transformer with mean pooling and normalisation (the model's modules 1 and 2) into out/model.onnx."""
    import torch

    transformer = st_model[0]
    auto = transformer.auto_model.eval()

    class Pooled(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.auto = auto

        def forward(self, input_ids: Any, attention_mask: Any, token_type_ids: Any) -> Any:
            hidden = self.auto(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
            ).last_hidden_state
            mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
            mean = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
            return torch.nn.functional.normalize(mean, p=2.0, dim=1)

    dummy = torch.ones(2, 8, dtype=torch.long)
    axes = {name: {0: "batch", 1: "tokens"} for name in _INPUTS}
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the tracer's notes on Python booleans: the inputs' shapes stay dynamic
        torch.onnx.export(  # the TorchScript exporter: needs `onnx`, not onnxscript
            Pooled(),
            (dummy, dummy, torch.zeros_like(dummy)),
            str(out / "model.onnx"),
            input_names=list(_INPUTS),
            output_names=["embedding"],
            dynamic_axes={**axes, "embedding": {0: "batch"}},
            opset_version=17,
            dynamo=False,
        )
    shutil.copyfile(model_path / "tokenizer.json", out / "tokenizer.json")
    meta = {"format": FORMAT, "max_seq_length": int(st_model.max_seq_length), "model": model_path.name}
    (out / "meta.json").write_text(json.dumps(meta), encoding="utf-8")


class OnnxEncoder:
    """Normalised sentence embeddings from an export folder, on the CPU with `threads` intra-op threads."""

    def __init__(self, folder: Path, threads: int = 1) -> None:
        import onnxruntime as ort
        from tokenizers import Tokenizer

        meta = json.loads((folder / "meta.json").read_text(encoding="utf-8"))
        self.tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        self.tokenizer.enable_truncation(max_length=int(meta["max_seq_length"]))
        self.tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")  # noqa: S106 - a token, not a password
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        # the layout passes of ORT_ENABLE_ALL add 0.3 s to loading and nothing per query here (same vectors)
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED
        self.session = ort.InferenceSession(
            str(folder / "model.onnx"), sess_options=options, providers=["CPUExecutionProvider"]
        )

    def encode(self, texts: list[str]) -> np.ndarray:
        """One float32 row per text, of unit length (texts stripped, as sentence-transformers does)."""
        if not texts:
            return np.zeros((0, 0), dtype=np.float32)
        batch = self.tokenizer.encode_batch([t.strip() for t in texts])
        feed = {
            "input_ids": np.asarray([e.ids for e in batch], dtype=np.int64),
            "attention_mask": np.asarray([e.attention_mask for e in batch], dtype=np.int64),
            "token_type_ids": np.asarray([e.type_ids for e in batch], dtype=np.int64),
        }
        (out,) = self.session.run(["embedding"], feed)
        return np.asarray(out, dtype=np.float32)


@lru_cache(maxsize=4)
def load_onnx_encoder(folder: Path, threads: int = 1) -> OnnxEncoder:
    """The encoder of an export folder, loaded once per process."""
    return OnnxEncoder(folder, threads)

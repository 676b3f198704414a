"""Which function handles which format; imported lazily so start-up stays small."""

from __future__ import annotations

import importlib
from functools import cache

from dozor.scan.base import Handler

HANDLERS: dict[str, str] = {
    # pickle family: raw pickle, joblib, dill, cloudpickle, legacy torch streams
    "pickle": "dozor.scan.models.pickle_scan:scan_pickle",
    "embedded-pickle": "dozor.scan.models.pickle_scan:scan_embedded_pickle",
    "legacy-torch-records": "dozor.scan.models.pickle_scan:scan_legacy_torch_records",
    # containers and compressed streams
    "zip": "dozor.scan.containers.zip_scan:scan_zip",
    "tar": "dozor.scan.containers.tar_scan:scan_tar",
    "7z": "dozor.scan.containers.sevenzip:scan_7z",
    "gzip": "dozor.scan.containers.compressed:scan_compressed",
    "bz2": "dozor.scan.containers.compressed:scan_compressed",
    "xz": "dozor.scan.containers.compressed:scan_compressed",
    "lzma": "dozor.scan.containers.compressed:scan_compressed",
    "zlib": "dozor.scan.containers.compressed:scan_compressed",
    "lz4": "dozor.scan.containers.compressed:scan_compressed",
    "zstd": "dozor.scan.containers.compressed:scan_compressed",
    # model formats
    "torchscript-code": "dozor.scan.models.torchscript:scan_torchscript_code",
    "npy": "dozor.scan.models.numpy_scan:scan_npy",
    "gguf": "dozor.scan.models.gguf:scan_gguf",
    "tokenizer-config": "dozor.scan.models.gguf:scan_tokenizer_config",
    "chat-template": "dozor.scan.models.tokenizer_config:scan_chat_template_text",
    "safetensors": "dozor.scan.models.safetensors:scan_safetensors",
    "hdf5": "dozor.scan.models.keras:scan_hdf5",
    "keras-config": "dozor.scan.models.keras:scan_keras_config",
    "onnx": "dozor.scan.models.onnx:scan_onnx",
    "tf-savedmodel": "dozor.scan.models.savedmodel:scan_savedmodel",
    # text: serving manifests (Kubernetes, compose, Dockerfiles)
    "manifest": "dozor.scan.iac.scan:scan_manifest",
    # source code
    "python-code": "dozor.scan.code.python_rules:scan_python",
    "notebook": "dozor.scan.code.notebook:scan_notebook",
    # dependency files: offline advisory audit
    "deps": "dozor.scan.deps.scan:scan_dependency_file",
    # documents: text hidden from readers (.docx, .pdf, .html, .md, .txt)
    "document": "dozor.scan.documents:scan_document",
    # datasets (CSV, TSV, JSON Lines, Parquet): personal data per column
    "dataset": "dozor.scan.data.scan:scan_dataset",
    # every text file except notebooks: credentials
    "secrets": "dozor.scan.secrets_scan:scan_secrets",
}


@cache
def handler(kind: str) -> Handler:
    """The handler function for a format name (KeyError if there is none)."""
    module, _, func = HANDLERS[kind].partition(":")
    return getattr(importlib.import_module(module), func)  # type: ignore[no-any-return]

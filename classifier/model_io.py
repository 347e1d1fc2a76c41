"""Safe model files: skops format (no pickle) plus a sha256 checksum file beside it.

A model file holds only dicts, lists, strings, numbers and numpy arrays of plain dtypes, so
``skops.io.load`` is called with an explicit, empty list of extra trusted types, and what it
returns is checked to hold nothing else (skops' default set would also admit scikit-learn
estimators): any other object in the file is refused. Before loading, the file's sha256 must equal the one in
``<file>.sha256`` (``sha256sum`` format); a missing or different checksum is refused too.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

import numpy as np

from huiyin.config.errors import HuiyinError

# Types allowed beyond skops' built-in safe set (builtins, numpy arrays): none.
TRUSTED_TYPES: list[str] = []
CHECKSUM_SUFFIX = ".sha256"


class ModelError(HuiyinError):
    """A model file is missing, tampered with, or not a 回音 model."""


def sha256_file(path: Path) -> str:
    """Hex sha256 of a file's bytes."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def checksum_path(path: Path) -> Path:
    return path.with_name(path.name + CHECKSUM_SUFFIX)


def save_state(state: dict[str, Any], path: Path) -> str:
    """Write ``state`` with skops and its checksum file; returns the sha256."""
    import skops.io as sio

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    sio.dump(state, tmp)
    digest = sha256_file(tmp)
    os.replace(tmp, path)  # never leave a half-written model under the real name
    checksum_path(path).write_text(f"{digest}  {path.name}\n", encoding="utf-8")
    return digest


def load_state(path: Path) -> dict[str, Any]:
    """Verify the checksum, then load with skops and the explicit trusted-types list."""
    import skops.io as sio

    path = Path(path)
    if not path.is_file():
        raise ModelError(f"模型文件不存在 model file not found: {path}")
    sums = checksum_path(path)
    if not sums.is_file():
        raise ModelError(f"缺少校验文件，拒绝加载 checksum file missing, refusing to load: {sums}")
    expected = sums.read_text(encoding="utf-8").split()[0].lower() if sums.read_text(encoding="utf-8").strip() else ""
    actual = sha256_file(path)
    if actual != expected:
        raise ModelError(f"模型文件校验失败，拒绝加载 checksum mismatch, refusing to load {path} (sha256 {actual}, expected {expected or 'nothing'})")
    try:
        untrusted = sio.get_untrusted_types(file=path)
        if [t for t in untrusted if t not in TRUSTED_TYPES]:
            raise ModelError(f"模型文件含不受信任的类型 untrusted types in {path}: {untrusted}")
        state = sio.load(path, trusted=TRUSTED_TYPES)
    except ModelError:
        raise
    except Exception as exc:  # a corrupt zip or schema: report it as a model error
        raise ModelError(f"无法读取模型文件 cannot read model file {path}: {exc}") from exc
    if not isinstance(state, dict):
        raise ModelError(f"不是回音模型文件 not a 回音 model file: {path}")
    bad = _foreign(state)
    if bad:
        raise ModelError(f"模型文件含不受信任的类型 untrusted type {bad} in {path}")
    return state


def _foreign(value: Any) -> str | None:
    """The first type in ``value`` that is not a plain container, scalar or plain numpy array.

    skops' own safe set also admits scikit-learn estimators; a 回音 model file never holds one.
    """
    if value is None or isinstance(value, (str, bool, int, float)):
        return None
    if isinstance(value, np.ndarray):
        return "numpy object array" if value.dtype.hasobject else None
    if isinstance(value, dict):
        for key, item in value.items():
            found = _foreign(key) or _foreign(item)
            if found:
                return found
        return None
    if isinstance(value, (list, tuple)):
        return next((f for f in map(_foreign, value) if f), None)
    return f"{type(value).__module__}.{type(value).__qualname__}"

"""File I/O shared by every module: atomic writes (nothing is left half written), hashing, image reading and
a restricted unpickler for the pickles some published data sets ship (never a plain ``pickle.load``)."""
from __future__ import annotations

import contextlib
import glob
import hashlib
import io
import json
import os
import pickle
import tempfile
from pathlib import Path
from typing import Iterable, Iterator

import numpy as np
from PIL import Image


def _current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


_UMASK = _current_umask()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def remove_stale_temporaries(path: Path) -> list[Path]:
    """Remove ``path``'s hidden temporaries (``.<name>.<pid>.*.tmp``) left by a writer that was killed: those of
    processes that no longer run."""
    removed = []
    for tmp in path.parent.glob(f'.{glob.escape(path.name)}.*.tmp'):
        pid = tmp.name[len(path.name) + 2:].split('.', 1)[0]
        if pid.isdigit() and int(pid) != os.getpid() and not _alive(int(pid)):
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()
                removed.append(tmp)
    return removed


@contextlib.contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success it is renamed onto ``path``, on error removed.
    Temporaries that a killed writer left for ``path`` are removed first (:func:`remove_stale_temporaries`)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temporaries(path)
    fd, tmp = tempfile.mkstemp(prefix=f'.{path.name}.{os.getpid()}.', suffix='.tmp', dir=path.parent)
    os.close(fd)
    try:
        yield Path(tmp)
        os.chmod(tmp, 0o666 & ~_UMASK)  # mkstemp makes 0600; the result should be readable like any new file
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


@contextlib.contextmanager
def work_dir_lock(work_dir: str | Path) -> Iterator[Path]:
    """Hold an exclusive lock on ``work_dir`` (``.lock`` inside it, ``flock``: released when the process ends,
    even when killed); a second run into the same work dir gets a one-line error instead of mixing its logs,
    checkpoints and results with the first one's."""
    import fcntl
    work_dir = Path(work_dir)
    work_dir.mkdir(parents=True, exist_ok=True)
    path = work_dir / '.lock'
    handle = open(path, 'a+')
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.seek(0)
        holder = handle.read().strip() or 'another process'
        handle.close()
        raise BlockingIOError(f'{work_dir}: another run is using this work dir ({holder}); wait for it to end or '
                           'give another --work-dir') from None
    try:
        handle.seek(0)
        handle.truncate()
        handle.write(f'pid {os.getpid()}')
        handle.flush()
        yield path
    finally:
        handle.close()  # releases the lock


def write_bytes(path: str | Path, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically."""
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)
    return Path(path)


def write_json(path: str | Path, data, sort_keys: bool = False) -> Path:
    """Write ``data`` as indented JSON, atomically."""
    return write_bytes(path, (json.dumps(data, indent=2, sort_keys=sort_keys, default=str) + '\n').encode())


def read_image(path: str | Path) -> np.ndarray:
    """An image file as RGB uint8 (H, W, 3); a one-line error naming the file if it is missing or unreadable."""
    if os.path.isdir(path):
        raise ValueError(f'{path}: is a folder, not an image file')
    if not os.path.isfile(path):
        raise FileNotFoundError(f'{path}: image not found; check the data root and the split layout')
    try:
        with Image.open(path) as image:
            return np.asarray(image.convert('RGB')).copy()
    except (OSError, ValueError) as err:
        raise ValueError(f'{path}: cannot read image ({err})') from None


class _RestrictedUnpickler(pickle.Unpickler):
    def __init__(self, data: bytes, path: Path, allowed: frozenset, encoding: str):
        super().__init__(io.BytesIO(data), encoding=encoding)
        self.path, self.allowed = path, allowed

    def find_class(self, module: str, name: str):
        if (module, name) in self.allowed:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f'{self.path}: refusing to load global {module}.{name}; this file may hold '
                                     f'only {", ".join(sorted(f"{m}.{n}" for m, n in self.allowed))}')


def restricted_unpickle(path: str | Path, allowed: Iterable[tuple[str, str]], encoding: str = 'ASCII'):
    """Unpickle ``path`` allowing only the ``(module, name)`` globals in ``allowed``; anything else (code, any
    other class) raises ``pickle.UnpicklingError`` naming the file, before it runs."""
    path = Path(path)
    return _RestrictedUnpickler(path.read_bytes(), path, frozenset(allowed), encoding).load()


def sha256_files(paths: Iterable[str | Path], chunk: int = 1 << 20) -> str:
    """Hex sha256 over the bytes of ``paths`` in order (one file: that file's usual sha256)."""
    digest = hashlib.sha256()
    for path in paths:
        with open(path, 'rb') as handle:
            while block := handle.read(chunk):
                digest.update(block)
    return digest.hexdigest()

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
from PIL import Image, ImageOps


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


def finite_json(data):
    """``data`` with NaN / inf floats as None: JSON ``null``, never the bare ``NaN`` that JSON does not allow."""
    if isinstance(data, float):
        return data if data == data and abs(data) != float('inf') else None
    if isinstance(data, dict):
        return {k: finite_json(v) for k, v in data.items()}
    if isinstance(data, (list, tuple)):
        return [finite_json(v) for v in data]
    return data


def write_json(path: str | Path, data, sort_keys: bool = False) -> Path:
    """Write ``data`` as indented JSON (NaN / inf as ``null``: :func:`finite_json`), atomically."""
    text = json.dumps(finite_json(data), indent=2, sort_keys=sort_keys, default=str, allow_nan=False)
    return write_bytes(path, (text + '\n').encode())


# the largest image read (pixels); a 13000 x 13000 photo would take gigabytes once decoded and resized.
# Raise it with the environment variable SPROBE_MAX_IMAGE_PIXELS.
MAX_IMAGE_PIXELS = 64_000_000


def max_image_pixels() -> int:
    """:data:`MAX_IMAGE_PIXELS`, or ``SPROBE_MAX_IMAGE_PIXELS`` when set."""
    return int(os.environ.get('SPROBE_MAX_IMAGE_PIXELS', MAX_IMAGE_PIXELS))


def to_rgb8(image: Image.Image, path) -> np.ndarray:
    """RGB uint8 from any PIL mode: 16-bit and 32-bit integer greyscale scaled from their full range (not
    clipped to white), float greyscale in [0, 1] scaled by 255; other float ranges are refused."""
    if image.mode.startswith('I;16') or image.mode == 'I':
        values = np.asarray(image).astype(np.float64)
        top = 65535.0 if image.mode.startswith('I;16') or values.max() <= 65535 else float(np.iinfo(np.int32).max)
        grey = np.clip(values / top * 255.0, 0, 255).round().astype(np.uint8)
    elif image.mode == 'F':
        values = np.asarray(image)
        if not np.isfinite(values).all() or values.min() < 0 or values.max() > 1:
            raise ValueError(f'{path}: float image with values in [{np.nanmin(values):g}, {np.nanmax(values):g}]; '
                             'only [0, 1] float images are read (convert it to 8 or 16 bit)')
        grey = (values * 255.0).round().astype(np.uint8)
    else:
        return np.asarray(image.convert('RGB')).copy()
    return np.repeat(grey[..., None], 3, axis=2)


def read_image(path: str | Path) -> np.ndarray:
    """An image file as RGB uint8 (H, W, 3), turned upright by its EXIF orientation (as phones store photos and
    as Hugging Face's image loader shows them); 16-bit / float greyscale scaled to 8 bit (:func:`to_rgb8`).

    A one-line error names the file if it is missing, unreadable or larger than :func:`max_image_pixels`.
    """
    if os.path.isdir(path):
        raise ValueError(f'{path}: is a folder, not an image file')
    if not os.path.isfile(path):
        raise FileNotFoundError(f'{path}: image not found; check the data root and the split layout')
    limit = max_image_pixels()
    try:
        with Image.open(path) as image:
            width, height = image.size  # from the header: nothing decoded yet
            if width * height > limit:
                raise ValueError(f'{path}: {width} x {height} = {width * height / 1e6:.0f} M pixels, more than '
                                 f'the limit of {limit / 1e6:.0f} M (set SPROBE_MAX_IMAGE_PIXELS to allow it)')
            return to_rgb8(ImageOps.exif_transpose(image), path)
    except Image.DecompressionBombError as err:
        raise ValueError(f'{path}: refused as a decompression bomb ({err})') from None
    except OSError as err:
        raise ValueError(f'{path}: cannot read image ({err})') from None


class UnsafePickleError(pickle.UnpicklingError, ValueError):
    """A pickle that holds a global outside the allowed ones, or that cannot be read: a ``ValueError`` too, so
    the command line reports it as bad input in one line."""


class _RestrictedUnpickler(pickle.Unpickler):
    def __init__(self, data: bytes, path: Path, allowed: frozenset, encoding: str):
        super().__init__(io.BytesIO(data), encoding=encoding)
        self.path, self.allowed = path, allowed

    def find_class(self, module: str, name: str):
        if (module, name) in self.allowed:
            return super().find_class(module, name)
        raise UnsafePickleError(f'{self.path}: refusing to load global {module}.{name}; this file may hold '
                                     f'only {", ".join(sorted(f"{m}.{n}" for m, n in self.allowed))}')


def restricted_unpickle(path: str | Path, allowed: Iterable[tuple[str, str]], encoding: str = 'ASCII'):
    """Unpickle ``path`` allowing only the ``(module, name)`` globals in ``allowed``; anything else (code, any
    other class) raises :class:`UnsafePickleError` naming the file, before it runs; so does a truncated file."""
    path = Path(path)
    try:
        return _RestrictedUnpickler(path.read_bytes(), path, frozenset(allowed), encoding).load()
    except UnsafePickleError:
        raise
    except (pickle.UnpicklingError, EOFError, AttributeError, IndexError, TypeError) as err:
        raise UnsafePickleError(f'{path}: not a readable pickle ({type(err).__name__}: {err}); the file is '
                                'truncated or of another format') from None


def sha256_files(paths: Iterable[str | Path], chunk: int = 1 << 20) -> str:
    """Hex sha256 over the bytes of ``paths`` in order (one file: that file's usual sha256)."""
    digest = hashlib.sha256()
    for path in paths:
        with open(path, 'rb') as handle:
            while block := handle.read(chunk):
                digest.update(block)
    return digest.hexdigest()

"""Writing output files without ever destroying one (standard library only).

Every writer (BVH, SMPL-X .npz, face CSV, timelines, glTF, .blend) goes through here:

- :func:`check_output` refuses, before any work, an output that is a folder, an existing
  file that is not a regular file (a device, a FIFO, a socket) or a symbolic link to one
  or to nothing, a path in a folder that does not exist, and an output that is one of the
  same command's inputs (the same file, however it is named). A symbolic link to a
  regular file is followed: the file it points to is replaced, the link stays.
- :func:`open_output` writes to a temporary file created exclusively (``mkstemp``:
  ``O_EXCL``, a random name, never a planted link) in the target's folder, with the
  target's mode when it exists and the user's normal mode (``0666`` less the umask)
  otherwise; it is flushed and fsynced, then renamed over the target. Any failure,
  Ctrl-C or cancel removes the temporary file and leaves the target as it was.

Failures are :class:`~errors.OutputError` (a ``CadenceError`` and an ``OSError``) with a
one-line message naming the file.
"""
from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO

from .errors import OutputError


def _umask() -> int:
    """The process umask, read without changing it where the system allows."""
    try:
        with open("/proc/self/status", encoding="ascii") as handle:
            for line in handle:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def normal_mode(target: str | os.PathLike[str]) -> int:
    """Permission bits for ``target``: its own when it exists, else 0666 less the umask."""
    try:
        st = os.stat(target)
    except OSError:
        return 0o666 & ~_umask()
    return stat.S_IMODE(st.st_mode) if stat.S_ISREG(st.st_mode) else 0o666 & ~_umask()


def _same_file(a: str | os.PathLike[str], b: str | os.PathLike[str]) -> bool:
    try:
        return os.path.samefile(a, b)
    except (OSError, ValueError):
        return False


def check_output(path: str | os.PathLike[str], inputs: Iterable = (), what: str = "--out",
                 example: str | None = None) -> Path:
    """Refuse an output that cannot be written safely (see the module docstring); returns
    the path to write: ``path`` itself, or the file a symbolic link at ``path`` points to.
    ``inputs`` are the command's input files (None entries are skipped)."""
    given = Path(path)
    shown = f"{what} {given}" if what else str(given)
    if not str(path) or str(path).endswith(os.sep) or given.name in ("", ".", ".."):
        raise OutputError(f"{shown} is not a file name; give one such as {example or 'out.bvh'}")
    try:
        lst = os.lstat(given)
    except FileNotFoundError:
        lst = None
    except OSError as exc:
        raise OutputError(f"cannot use {shown}: {exc.strerror or exc}") from None
    target = given
    if lst is not None:
        if stat.S_ISLNK(lst.st_mode):
            try:
                st = os.stat(given)
            except OSError:
                raise OutputError(f"{shown} is a symbolic link to nothing ({os.readlink(given)}); "
                                  "remove it or choose another name") from None
            target = Path(os.path.realpath(given))
        else:
            st = lst
        if stat.S_ISDIR(st.st_mode):
            raise OutputError(f"{shown} is a folder; give a file name such as {example or 'out.bvh'}")
        if not stat.S_ISREG(st.st_mode):
            raise OutputError(f"{shown} exists and is not a regular file (a device, pipe or socket); "
                              "choose another name")
        for source in inputs:
            if source is not None and _same_file(source, given):
                raise OutputError(f"{shown} is the input {source}: writing it would destroy the "
                                  "input; choose another name")
    folder = target.parent
    if not folder.is_dir():
        raise OutputError(f"the folder {given.parent} does not exist"
                          if not folder.exists() else f"{given.parent} is not a folder")
    return target


def check_distinct(outputs: Iterable[tuple[str, str | os.PathLike[str] | None]]) -> None:
    """Refuse two options naming the same output file."""
    seen: list[tuple[str, Path]] = []
    for what, path in outputs:
        if path is None:
            continue
        p = Path(path)
        for other, q in seen:
            if os.path.abspath(p) == os.path.abspath(q) or _same_file(p, q):
                raise OutputError(f"{what} and {other} name the same file {p}; give two names")
        seen.append((what, p))


def _fsync_path(path: Path) -> None:
    """Flush a file's or a folder's data to disk, as far as the system allows (a folder
    is fsynced so that a rename in it survives a crash; POSIX only)."""
    if path.is_dir() and os.name != "posix":
        return
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


@contextlib.contextmanager
def temporary_beside(path: str | os.PathLike[str], *, inputs: Iterable = (), what: str = "--out",
                     example: str | None = None, suffix: str = ".tmp") -> Iterator[Path]:
    """A new, empty temporary file in ``path``'s folder for a writer that opens files by
    name (Blender's savers): yields its path; when the block ends normally the file is
    given the normal mode and renamed over ``path``; on any failure it is removed."""
    target = check_output(path, inputs, what, example)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=suffix, dir=target.parent)
    except OSError as exc:
        raise OutputError(f"cannot write {path}: {exc.strerror or exc}") from None
    os.close(fd)
    try:
        yield Path(tmp)
        _finish(Path(tmp), target, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _finish(tmp: Path, target: Path, shown) -> None:
    try:
        mode = normal_mode(target)
        with contextlib.suppress(OSError, NotImplementedError):
            os.chmod(tmp, mode)
        _fsync_path(tmp)
        os.replace(tmp, target)
    except OSError as exc:
        raise OutputError(f"cannot write {shown}: {exc.strerror or exc}") from None
    _fsync_path(target.parent)


@contextlib.contextmanager
def open_output(path: str | os.PathLike[str], mode: str = "w", *, inputs: Iterable = (),
                what: str = "--out", example: str | None = None, encoding: str | None = "utf-8",
                newline: str | None = None) -> Iterator[IO]:
    """Open ``path`` for writing safely (``mode`` "w" for text or "wb" for bytes): yields a
    file object on a temporary file that replaces ``path`` only when the block completes."""
    if mode not in ("w", "wb"):
        raise ValueError(f"open_output mode must be 'w' or 'wb', got {mode!r}")
    target = check_output(path, inputs, what, example)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    except OSError as exc:
        raise OutputError(f"cannot write {path}: {exc.strerror or exc}") from None
    try:
        handle = os.fdopen(fd, mode, **({} if "b" in mode else {"encoding": encoding,
                                                                "newline": newline}))
    except BaseException:
        os.close(fd)
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    try:
        with handle:
            try:
                yield handle
                handle.flush()
                os.fsync(handle.fileno())
            except OSError as exc:
                if isinstance(exc, OutputError):
                    raise
                raise OutputError(f"cannot write {path}: {exc.strerror or exc}") from None
        try:
            mode_bits = normal_mode(target)
            with contextlib.suppress(OSError, NotImplementedError):
                os.chmod(tmp, mode_bits)
            os.replace(tmp, target)
        except OSError as exc:
            raise OutputError(f"cannot write {path}: {exc.strerror or exc}") from None
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    _fsync_path(target.parent)


def write_text(path: str | os.PathLike[str], text: str, **kwargs) -> Path:
    """Write ``text`` (UTF-8) to ``path`` safely; returns ``path``."""
    with open_output(path, "w", **kwargs) as handle:
        handle.write(text)
    return Path(path)


def write_bytes(path: str | os.PathLike[str], data: bytes, **kwargs) -> Path:
    """Write ``data`` to ``path`` safely; returns ``path``."""
    with open_output(path, "wb", **kwargs) as handle:
        handle.write(data)
    return Path(path)

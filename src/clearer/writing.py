"""Every file clearer writes goes through this module, so each guarantee below holds in one place.

- Atomic: a file is written to a temporary file in its own folder (a name only clearer makes, starting
  with ``.clearer-tmp-``), fsynced and renamed over the target; a crash or a full disk leaves the earlier
  file intact and at most a temporary file, which the next command holding that folder's lock removes.
- Never through a link: a target that is a symbolic link (dangling or not) or a file with more than one
  hard link is refused, so no write lands outside the folder it names or in a second name of a file.
- Never over an input: a target that is (same device and inode) a file the command reads is refused,
  even with ``--overwrite``; any other existing file is replaced only when the caller says so.
- Never outside the folder: a target must lie (resolved) inside the folder the command writes into.
- Folders carry their kind (a ``.clearer`` file holding "run", "evaluation" or "comparison"); a command
  refuses a folder of another kind, and holds an exclusive lock (``.clearer-lock``, fcntl.flock) on the
  folder for as long as it writes there: a second process gets "in use by PID ...".
"""

from __future__ import annotations

import errno
import fcntl
import os
import stat
import uuid
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from safetensors import SafetensorError

from .errors import ClearerError

TEMP_PREFIX = ".clearer-tmp-"
MARKER = ".clearer"  # the folder's kind
LOCK = ".clearer-lock"
KINDS = ("run", "evaluation", "comparison")

_held: dict[Path, int] = {}  # resolved folder -> fd of its lock file, for the folders this process holds


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _file_mode() -> int:
    """The mode a new file gets under the process umask (safetensors itself writes 0600)."""
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


def _inside(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


def _same_file(a: os.stat_result, b: os.stat_result) -> bool:
    return (a.st_dev, a.st_ino) == (b.st_dev, b.st_ino)


def check_target(
    path: str | Path, replace: bool = False, inputs: Iterable[str | Path] = (), inside: str | Path | None = None
) -> Path:
    """Refuse to write `path` when it is a link, a folder, an input of the command, outside `inside` (or
    outside every folder this process holds, when some are held) or, unless `replace`, an existing file."""
    path = Path(path)
    where = Path(os.path.realpath(path.parent)) / path.name
    folders = [Path(os.path.realpath(inside))] if inside is not None else list(_held)
    if folders and not any(_inside(where, f) for f in folders):
        raise ClearerError(
            f"{path} resolves to {where}, outside {' / '.join(map(str, folders))}, the folder this command "
            "writes into; clearer never writes outside it. Choose a path inside it."
        )
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return path
    except OSError as err:  # e.g. a file where a folder of the path should be
        raise ClearerError(f"cannot write {path}: {err}. Choose a path in a writable folder.") from None
    if stat.S_ISLNK(st.st_mode):
        raise ClearerError(
            f"{path} is a symbolic link (to {os.readlink(path)}); clearer never writes through a link. "
            "Remove the link or choose another path."
        )
    if stat.S_ISDIR(st.st_mode):
        raise ClearerError(f"{path} is a folder; give a file path (the folder is left as it is).")
    if not stat.S_ISREG(st.st_mode):
        raise ClearerError(f"{path} is not a regular file; choose another path.")
    for item in inputs:
        try:
            if _same_file(st, os.stat(item)):
                same = "" if os.path.realpath(item) == os.path.realpath(path) else f" (the same file as {item})"
                raise ClearerError(
                    f"{path}{same} is an input that this command reads; an input is never replaced, even with "
                    "--overwrite. Choose another output path."
                )
        except OSError:
            continue
    if st.st_nlink > 1:
        raise ClearerError(
            f"{path} has {st.st_nlink} hard links: replacing it would change what the other names show, or "
            "leave them pointing at the old file. Choose another path."
        )
    if not replace:
        raise ClearerError(f"{path} already exists; pass --overwrite to replace it, or choose another path.")
    return path


def write_file(
    path: str | Path,
    write: Callable[[Path], object],
    replace: bool = True,
    inputs: Iterable[str | Path] = (),
    inside: str | Path | None = None,
) -> Path:
    """Write `path` atomically: `write(tmp)` fills a temporary file beside it, which is fsynced and renamed
    over `path` (after `check_target`). A full disk or an unwritable folder is a ClearerError, and leaves
    the earlier file and no temporary file behind."""
    path = check_target(path, replace, inputs, inside)
    tmp = path.with_name(f"{TEMP_PREFIX}{os.getpid()}-{uuid.uuid4().hex[:8]}-{path.name}")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as err:  # e.g. a dangling link or a file where a folder of the path should be
        raise ClearerError(
            f"cannot create the folder {path.parent} for {path.name}: {err}. Choose another path."
        ) from None
    try:
        os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))  # ours alone: no race with a link
        write(tmp)
        os.chmod(tmp, _file_mode())
        _fsync(tmp)
        os.replace(tmp, path)
        try:
            _fsync(path.parent)  # makes the rename durable; some systems cannot open a folder for this
        except OSError:
            pass
    except (OSError, SafetensorError) as err:
        raise ClearerError(
            f"cannot write {path}: {err}. Check that the folder is writable and the disk (or your file "
            "size limit, ulimit -f) has room, then rerun; a run continues with --resume."
        ) from None
    finally:
        try:
            tmp.unlink(missing_ok=True)
        except OSError:
            pass
    return path


def write_text(path: str | Path, text: str, **checks: object) -> Path:
    return write_file(path, lambda tmp: tmp.write_text(text), **checks)  # type: ignore[arg-type]


def append_text(path: str | Path, text: str) -> None:
    """Append to a log file (never through a link, never outside the held folder)."""
    path = check_target(path, replace=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW, _file_mode())
        try:
            os.write(fd, text.encode())
        finally:
            os.close(fd)
    except OSError as err:
        raise ClearerError(
            f"cannot write the log {path}: {err}. Check that the disk (or your file size limit, ulimit -f) "
            "has room, then continue with --resume."
        ) from None


# ------------------------------------------------------------------------------------------ folders


def kind_of(folder: str | Path) -> str | None:
    """The kind a folder carries: its .clearer file, else (folders from before the file) what it holds."""
    folder = Path(folder)
    try:
        text = (folder / MARKER).read_text().strip()
        return text if text in KINDS else "unknown"
    except FileNotFoundError:
        pass
    except OSError:
        return "unknown"
    metrics = folder / "metrics.json"
    if metrics.is_file() and '"run_recipe_hash"' in metrics.read_text(errors="replace"):
        return "evaluation"
    if (folder / "recipe.json").is_file():
        return "run"
    if (
        (folder / "comparison.json").is_file()
        or (folder / "launcher").is_dir()
        or any(folder.glob("*/seed*/recipe.json"))
    ):
        return "comparison"
    return None


COMMANDS = {"run": "clearer run", "evaluation": "clearer evaluate", "comparison": "clearer compare"}


def _a(kind: str) -> str:
    return f"an {kind}" if kind[0] in "aeiou" else f"a {kind}"


def _own(name: str) -> bool:
    return name in (MARKER, LOCK) or name.startswith(TEMP_PREFIX)


def check_kind(folder: str | Path, kind: str) -> None:
    """Refuse a folder that is a file, that carries another kind than `kind`, or that holds files of its
    own and no kind (a folder of the user's, whose files a command would mix with, or replace by, its own)."""
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise ClearerError(f"{folder} is a file, not a folder; give a folder for the {kind}.")
    found = kind_of(folder) if folder.is_dir() else None
    if found is None and folder.is_dir():
        try:
            present = sorted(p.name for p in folder.iterdir() if not _own(p.name))
        except OSError as err:
            raise ClearerError(f"cannot read the folder {folder}: {err}. Choose another folder.") from None
        if present:
            raise ClearerError(
                f"{folder} already holds files ({', '.join(present[:5])}) and is not {_a(kind)} folder; give a new "
                "or empty folder."
            )
    if found not in (None, kind):
        raise ClearerError(
            f"{folder} is {_a(found)} folder, not {_a(kind)} folder ({COMMANDS.get(found, 'clearer')} wrote it); "
            f"{COMMANDS[kind]} never writes into it. "
            "Choose another folder."
        )


def _lock(folder: Path, wait: bool) -> int:
    try:
        fd = os.open(folder / LOCK, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o644)
    except OSError as err:  # e.g. the lock file replaced by a link
        raise ClearerError(f"cannot lock {folder} through {folder / LOCK}: {err}. Remove that file.") from None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
    except OSError as err:
        owner = os.pread(fd, 32, 0).decode(errors="replace").strip() or "?"
        os.close(fd)
        if err.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
            raise ClearerError(
                f"{folder} is in use by PID {owner} (another clearer command writing into it); wait for it "
                "to end, or choose another folder."
            ) from None
        raise ClearerError(f"cannot lock {folder}: {err}.") from None
    os.ftruncate(fd, 0)
    os.pwrite(fd, str(os.getpid()).encode(), 0)
    return fd


@contextmanager
def folder(path: str | Path, kind: str, wait: bool = False) -> Iterator[Path]:
    """Hold `path` as a folder of `kind` while the block writes into it: checked, created, marked, locked
    (exclusively, against other processes; `wait` waits for another holder instead of refusing) and cleared
    of clearer's temporary files from killed processes."""
    path = Path(path)
    check_kind(path, kind)
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise ClearerError(f"cannot create the {kind} folder {path}: {err}. Choose a writable folder.") from None
    key = Path(os.path.realpath(path))
    if key in _held:  # already held by this process (e.g. an evaluation inside a command that holds it)
        yield path
        return
    fd = _lock(path, wait)
    _held[key] = fd
    try:
        check_kind(path, kind)  # again under the lock: another process may have claimed it meanwhile
        if not (path / MARKER).is_file():
            write_text(path / MARKER, kind + "\n")
        remove_orphans(path, kind)
        yield path
    finally:
        del _held[key]
        os.close(fd)  # releases the lock; the lock file stays (removing it would race with a waiting process)


def claim(path: str | Path, kind: str) -> None:
    """Check and mark `path` as a folder of `kind` (waiting for a holder), without keeping it: for a folder
    that several processes fill side by side (the shards and jobs of one comparison)."""
    with folder(path, kind, wait=True):
        pass


@contextmanager
def holding(path: str | Path, kind: str, target: str | Path) -> Iterator[None]:
    """Hold `path` (a folder of `kind`) while the block writes `target`, if `target` lies inside it."""
    if _inside(Path(os.path.realpath(Path(target).parent)), Path(os.path.realpath(path))):
        with folder(path, kind):
            yield
    else:
        yield


# where each kind of folder has files that only its lock holder writes (sub-folders of their own kind, and
# the comparison's launcher/ that its jobs write without the comparison's lock, are left alone)
SWEPT = {"run": (".", "state", "samples"), "evaluation": (".", "samples"), "comparison": (".",)}


def remove_orphans(path: str | Path, kind: str) -> list[Path]:
    """Delete clearer's own temporary files (and nothing else) that killed processes left in the folder
    `path` of `kind`. Called only while holding `path`; returns what it removed."""
    path = Path(path)
    if Path(os.path.realpath(path)) not in _held:
        raise ClearerError(f"internal: remove_orphans({path}) without holding its lock.")
    found = [
        p
        for sub in SWEPT[kind]
        if (path / sub).is_dir() and not (path / sub).is_symlink()
        for p in (path / sub).iterdir()
        if p.name.startswith(TEMP_PREFIX) and p.is_file() and not p.is_symlink()
    ]
    for p in found:
        p.unlink(missing_ok=True)
    return found

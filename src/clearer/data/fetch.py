"""Download, verify (sha256) and unpack the public benchmark datasets into the data root."""

from __future__ import annotations

import hashlib
import os
import shutil
import tarfile
import tempfile
import urllib.error
import urllib.request
import zipfile
from pathlib import Path, PurePosixPath
from typing import NamedTuple

from ..errors import ClearerError, did_you_mean
from ..writing import write_file

CHUNK = 1 << 20


class Source(NamedTuple):
    """Where a dataset comes from: archive URL, its sha256 (None: not pinned), archive kind
    ("zip" or "tar", any compression), the folder it becomes under the data root, and the folder
    inside the archive whose contents become that folder (None: the whole archive)."""

    url: str
    sha256: str | None
    kind: str
    folder: str
    inner: str | None = None


_DNCNN = "https://github.com/cszn/DnCNN/archive/refs/heads/master.zip"

# Archive checksums are None where no byte-stable release exists (GitHub branch archives are rebuilt,
# and these machines have no internet to pin the others); every extracted file is instead checked
# against the per-file sha256 manifest in manifests/FOLDER.sha256, computed from a verified copy.
SOURCES: dict[str, Source] = {
    "bsds500": Source(
        "https://www2.eecs.berkeley.edu/Research/Projects/CS/vision/grouping/BSR/BSR_bsds500.tgz",
        None,
        "tar",
        "BSDS500",
        "BSR/BSDS500/data/images",
    ),
    "train400": Source(
        _DNCNN, None, "zip", "Train400", "DnCNN-master/TrainingCodes/DnCNN_TrainingCodes_v1.0/data/Train400"
    ),
    "bsd68": Source(_DNCNN, None, "zip", "BSD68", "DnCNN-master/testsets/BSD68"),
    "set12": Source(_DNCNN, None, "zip", "Set12", "DnCNN-master/testsets/Set12"),
}


MANIFESTS = Path(__file__).with_name("manifests")
EXTRA_FILES = {"bsd68": ["bsd68_in_bsds500_val.txt"]}  # written into the data root beside the folder


def manifest(folder: str) -> dict[str, str] | None:
    """Relative path -> sha256 of every file a dataset folder must hold (None: no manifest)."""
    path = MANIFESTS / f"{folder}.sha256"
    if not path.is_file():
        return None
    entries = (line.split(maxsplit=1) for line in path.read_text().splitlines() if line.strip())
    return {name.strip(): digest for digest, name in entries}


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def verify_files(folder: Path, expected: dict[str, str], name: str) -> None:
    """Every file of the manifest present in `folder` with its sha256 (extra files are ignored)."""
    missing = [rel for rel in expected if not (folder / rel).is_file()]
    wrong = [rel for rel in expected if rel not in missing and sha256_file(folder / rel) != expected[rel]]
    if missing or wrong:
        raise ClearerError(
            f"{name}: the downloaded files do not match the recorded sha256 manifest ({len(missing)} missing, "
            f"{len(wrong)} changed, e.g. {(missing + wrong)[0]!r}); nothing was installed. The source changed "
            "or the download is corrupt: retry, or unpack a trusted copy by hand."
        )


def get_source(name: str) -> Source:
    """The Source registered under `name`, or a ClearerError listing close matches."""
    if name in SOURCES:
        return SOURCES[name]
    raise ClearerError(
        f"unknown dataset {name!r} to fetch.{did_you_mean(name, SOURCES)} Known: {', '.join(sorted(SOURCES))}."
    )


def download(url: str, target: Path) -> str:
    """Stream `url` to a temporary file beside `target`, then rename it into place; returns its sha256."""
    target.parent.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=target.parent)
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as out, urllib.request.urlopen(url, timeout=60) as response:
            while chunk := response.read(CHUNK):
                digest.update(chunk)
                out.write(chunk)
        os.replace(tmp, target)
    except (urllib.error.URLError, OSError, ValueError) as exc:
        tmp.unlink(missing_ok=True)
        raise ClearerError(
            f"could not download {url}: {exc}. Check the internet connection (these machines may have "
            "none), or download it by hand and pass its location as url (file:// works)."
        ) from None
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return digest.hexdigest()


def verify(path: Path, actual: str, expected: str | None) -> bool:
    """Compare a download's sha256 with the expected one: False when there is nothing to compare
    with (the hash is printed), ClearerError and the file deleted on a mismatch."""
    if expected is None:
        print(f"could not verify {path.name}: no sha256 on record; computed sha256 {actual}")
        return False
    if actual.lower() != expected.lower():
        path.unlink(missing_ok=True)
        raise ClearerError(
            f"checksum mismatch for {path.name}: expected sha256 {expected}, got {actual}. "
            "The download is corrupt or the source changed; the file was deleted. Retry, or pass the "
            "new sha256 if you trust the source."
        )
    return True


def _safe_member(name: str) -> bool:
    parts = PurePosixPath(name).parts
    return not (name.startswith(("/", "\\")) or ".." in parts)


def extract(archive: Path, kind: str, into: Path) -> None:
    """Unpack a zip or tar archive into `into`, refusing members that would land outside it."""
    try:
        if kind == "zip":
            with zipfile.ZipFile(archive) as zf:
                bad = [n for n in zf.namelist() if not _safe_member(n)]
                if bad:
                    raise ClearerError(f"{archive.name} holds unsafe paths such as {bad[0]!r}; not extracting.")
                zf.extractall(into)
        elif kind == "tar":
            with tarfile.open(archive) as tf:
                bad = [m.name for m in tf.getmembers() if not _safe_member(m.name)]
                if bad:
                    raise ClearerError(f"{archive.name} holds unsafe paths such as {bad[0]!r}; not extracting.")
                tf.extractall(into, filter="data")
        else:
            raise ClearerError(f"unknown archive kind {kind!r}; use 'zip' or 'tar'.")
    except (zipfile.BadZipFile, tarfile.TarError, EOFError) as exc:
        raise ClearerError(f"cannot unpack {archive.name} as {kind}: {exc}. The download is corrupt; retry.") from None


def fetch(name: str, root: Path, url: str | None = None, sha256: str | None = None, force: bool = False) -> Path:
    """Download a public dataset, verify its sha256 and unpack it into root/FOLDER; returns that folder.

    Why: `clearer data fetch NAME` makes a data root like the one tests and recipes expect, and a
    checksum catches truncated or changed downloads before they skew a benchmark. `url`/`sha256`
    replace the recorded ones (a mirror, or a source whose archive changed).
    """
    source = get_source(name)
    root = Path(root)
    folder = root / source.folder
    if folder.exists() and not force:
        print(f"{folder} already exists; not downloading {name} again (use --force to replace it).")
        return folder
    url = url or source.url
    expected = sha256 or source.sha256
    archive = root / f".download-{name}{''.join(Path(url.split('?')[0]).suffixes[-2:]) or '.archive'}"
    actual = download(url, archive)
    verify(archive, actual, expected)
    try:
        with tempfile.TemporaryDirectory(prefix=f".unpack-{name}-", dir=root) as tmp:
            unpacked = Path(tmp) / "unpacked"
            extract(archive, source.kind, unpacked)
            inner = unpacked / source.inner if source.inner else unpacked
            if not inner.is_dir():
                raise ClearerError(
                    f"{url} does not contain the folder {source.inner!r}; the archive layout changed. "
                    "Unpack it by hand into " + str(folder)
                )
            expected_files = manifest(source.folder)
            if expected_files is not None:
                verify_files(inner, expected_files, name)
            if folder.exists():
                shutil.rmtree(folder)
            os.replace(inner, folder)
    except OSError as exc:
        raise ClearerError(
            f"cannot unpack {name} into {root}: {exc}. Check that it is writable and has room."
        ) from None
    finally:
        archive.unlink(missing_ok=True)
    for extra in EXTRA_FILES.get(name, []):
        if not (root / extra).exists():
            write_file(root / extra, lambda tmp, src=MANIFESTS / extra: shutil.copyfile(src, tmp), replace=False)
    print(
        f"{name}: unpacked into {folder}"
        + (" (every file matches its recorded sha256)" if manifest(source.folder) is not None else "")
    )
    return folder

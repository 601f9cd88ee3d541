"""`clearer data fetch` against a local server: bad downloads, missing roots, verified files."""

from __future__ import annotations

import functools
import hashlib
import http.server
import os
import threading
import zipfile
from pathlib import Path

import pytest

from clearer.data import fetch as fetch_mod

from conftest import bad, cli, digest, needs_data

pytestmark = pytest.mark.usefixtures("restore_registries", "one_thread")


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def served(tmp_path):
    """A local http server over tmp_path/served (these machines have no internet)."""
    folder = tmp_path / "served"
    folder.mkdir()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(QuietHandler, directory=str(folder)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield folder, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def _zip(path: Path, members: dict[str, bytes]) -> str:
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return hashlib.sha256(path.read_bytes()).hexdigest()


SET12 = "DnCNN-master/testsets/Set12/"


def test_fetch_bad_downloads(served, tmp_path):
    folder, base = served
    root = tmp_path / "root"
    root.mkdir()
    digest_ok = _zip(folder / "set12.zip", {SET12 + "01.png": b"x"})
    (folder / "text.zip").write_text("not a zip")
    _zip(folder / "evil.zip", {"../evil.txt": b"x"})
    _zip(folder / "layout.zip", {"Other/01.png": b"x"})
    cases = [
        (["nosuch"], "unknown dataset 'nosuch'"),
        (["bsds50"], "Did you mean 'bsds500'"),
        (["set12", "--url", f"{base}/missing.zip"], "could not download"),
        (["set12", "--url", f"{base}/set12.zip", "--sha256", "0" * 64], f"expected sha256 {'0' * 64}, got {digest_ok}"),
        (["set12", "--url", f"{base}/text.zip"], "cannot unpack"),
        (["set12", "--url", f"{base}/evil.zip"], "unsafe paths"),
        (["set12", "--url", f"{base}/layout.zip"], "does not contain the folder"),
        (["set12", "--url", f"{base}/set12.zip"], "do not match the recorded sha256 manifest"),
        (["set12", "--url", "ftp://127.0.0.1/x.zip"], "could not download"),
    ]
    for args, says in cases:
        bad("data", "fetch", *args, "--root", root, says=says, watch=(folder,))
        assert list(root.iterdir()) == [], args


def test_fetch_needs_a_root(monkeypatch):
    monkeypatch.delenv("CLEARER_DATA", raising=False)
    bad("data", "fetch", "set12", says="set CLEARER_DATA or pass --root")


@needs_data
def test_fetch_verifies_every_file_writes_the_bsd68_map_and_force_refetches(served, tmp_path):
    folder, base = served
    data = Path(os.environ["CLEARER_DATA"])
    members = {f"DnCNN-master/testsets/BSD68/{p.name}": p.read_bytes() for p in sorted((data / "BSD68").iterdir())}
    _zip(folder / "bsd68.zip", members)
    root = tmp_path / "root"
    result = cli("data", "fetch", "bsd68", "--root", root, "--url", f"{base}/bsd68.zip")
    assert result.code == 0, result.err
    assert "every file matches its recorded sha256" in result.out
    assert (root / "bsd68_in_bsds500_val.txt").read_text() == (data / "bsd68_in_bsds500_val.txt").read_text()
    assert digest(root / "BSD68") == {
        str(root / "BSD68" / Path(k).name): hashlib.sha256(v).hexdigest() for k, v in members.items()
    }
    again = cli("data", "fetch", "bsd68", "--root", root, "--url", f"{base}/bsd68.zip")
    assert again.code == 0 and "already exists" in again.out
    (root / "BSD68" / "test001.png").write_bytes(b"damaged")
    forced = cli("data", "fetch", "bsd68", "--root", root, "--url", f"{base}/bsd68.zip", "--force")
    assert forced.code == 0, forced.err
    assert (root / "BSD68" / "test001.png").read_bytes() == members["DnCNN-master/testsets/BSD68/test001.png"]


def test_recorded_sources_use_https_and_have_manifests():
    for name, source in fetch_mod.SOURCES.items():
        assert source.url.startswith("https://"), name
        files = fetch_mod.manifest(source.folder)
        assert files and all(len(h) == 64 for h in files.values()), name

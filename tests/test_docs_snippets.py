"""The README's and docs' snippets run, as written, so a renamed option or key breaks a test, not a
reader's afternoon.

Every ```bash and ```python block runs unless the line just before its fence says otherwise:
- `<!-- docs-test: resolve -->`: the block trains for too long to run here; each `clearer run` line is
  resolved instead (`clearer show` with the same recipe, profile and overrides) and each `clearer compare`
  line lists its jobs (`--status`), so recipes, profiles, keys and values are still checked (other
  commands of such a block use the run it would train: `test_docs.py` checks their options);
- `<!-- docs-test: compile: REASON -->` (Python excerpts with `...`) or `<!-- docs-test: skip: REASON -->`
  (a cluster, the network, a package install): not run, and the reason is required.

Blocks run in page order in one folder per page, holding a copy of `recipes/`, a smoke run at
`runs/bsd/20261128-194307` (the run the snippets load), `BSD68` (the data's) and `my_photo.png`; Python
blocks of a page share one namespace.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import ROOT, clearer, smoke_run

PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
BLOCK = re.compile(
    r"(?:^<!-- docs-test: (?P<mode>[a-z]+)(?::\s*(?P<why>[^>]*?))?\s*-->\n)?^```(?P<lang>\w*)\n(?P<body>.*?)^```",
    re.S | re.M,
)
SHOWN_RUN = "runs/bsd/20261128-194307"


def snippets(page: Path) -> list[tuple[str, str, str]]:
    """(language, mode, body) of each bash/python block of a page; mode is run, resolve, compile or skip."""
    out = []
    for m in BLOCK.finditer(page.read_text()):
        if m["lang"] in ("bash", "python"):
            mode = m["mode"] or "run"
            assert mode in ("run", "resolve", "compile", "skip"), f"{page.name}: unknown docs-test mode {mode!r}"
            assert mode in ("run", "resolve") or (m["why"] or "").strip(), f"{page.name}: `{mode}` needs a reason"
            out.append((m["lang"], mode, m["body"]))
    return out


def test_every_page_has_its_blocks_classified_and_the_markers_are_well_formed():
    for page in PAGES:
        marked = page.read_text().count("<!-- docs-test:")
        assert marked == sum(mode != "run" for _, mode, _ in snippets(page)), (
            f"{page.name}: a marker not before a fence"
        )


def resolved(words: list[str], scratch: Path) -> list[str] | None:
    """The cheap stand-in for a long `clearer run`/`compare` line: `show` or `compare --status`."""
    drop_with_value = {"--out", "--resume", "--shard", "--launcher", "--jobs", "--slurm", "--variants"}
    command, rest, kept = words[1], words[2:], []
    skip = False
    for word in rest:
        if skip:
            skip = False
        elif word.split("=")[0] in drop_with_value:
            skip = "=" not in word
        elif word not in ("--report", "--status", "--quiet", "--verbose"):
            kept.append(word)
    if command == "run":
        return ["show", *kept]
    if command == "compare":
        return ["compare", *kept, "--status", "--out", str(scratch / "status")]
    return None


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> Path:
    """A folder laid out as the snippets assume: recipes, the shown run, BSD68 and a photo."""
    if not os.environ.get("CLEARER_DATA"):
        pytest.skip("the snippets load BSD68 images from CLEARER_DATA (CI sets it)")
    data_dir = Path(os.environ["CLEARER_DATA"])
    root = tmp_path_factory.mktemp("docs")
    shutil.copytree(ROOT / "recipes", root / "recipes", ignore=shutil.ignore_patterns("__pycache__"))
    done = clearer(*smoke_run(Path("recipes/bsd.py"), Path(SHOWN_RUN)), cwd=root)
    assert done.returncode == 0, done.stderr[-3000:]
    (root / "BSD68").symlink_to(data_dir / "BSD68")
    shutil.copy(data_dir / "BSD68" / "test002.png", root / "my_photo.png")
    return root


def fresh(world: Path, page: Path, tmp_path: Path) -> Path:
    folder = tmp_path / page.stem
    shutil.copytree(world, folder, symlinks=True)
    return folder


def shell_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env['PATH']}"  # this interpreter's `clearer`
    env["OMP_NUM_THREADS"] = env.get("OMP_NUM_THREADS", "2")
    return env


def run_bash(body: str, cwd: Path, scratch: Path, mode: str, page: Path) -> None:
    if mode == "resolve":
        for line in body.replace("\\\n", " ").splitlines():
            words = shlex.split(line, comments=True)
            start = words.index("clearer") if "clearer" in words else None
            if start is None:
                continue
            cheap = resolved(words[start:], scratch)
            if cheap is None:  # restore/evaluate/export of a run the block trains: test_docs checks its options
                continue
            done = clearer(*cheap, cwd=cwd, timeout=300)
            assert done.returncode == 0, f"{page.name}: {' '.join(cheap)}\n{done.stderr[-2000:]}"
        return
    done = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", body], cwd=cwd, env=shell_env(), capture_output=True, text=True, timeout=900
    )
    assert done.returncode == 0, f"{page.name}:\n{body}\n{done.stdout[-1500:]}\n{done.stderr[-3000:]}"


def run_python(body: str, cwd: Path, namespace: dict, page: Path) -> None:
    old = Path.cwd()
    sys.path.insert(0, str(cwd / "recipes"))  # recipes import each other from their folder
    os.chdir(cwd)
    try:
        exec(compile(body, f"{page.name} snippet", "exec"), namespace)
    finally:
        os.chdir(old)
        sys.path.remove(str(cwd / "recipes"))


@pytest.mark.slow
@pytest.mark.parametrize(
    "page", [p for p in PAGES if any(m in ("run", "resolve") for _, m, _ in snippets(p))], ids=lambda p: p.name
)
def test_the_snippets_of_each_page_run(page, world, tmp_path, restore_registries):
    cwd = fresh(world, page, tmp_path)
    namespace: dict = {"__name__": f"docs_{page.stem}"}
    for lang, mode, body in snippets(page):
        if mode in ("compile", "skip"):
            continue
        if lang == "bash":
            run_bash(body, cwd, tmp_path, mode, page)
        else:
            run_python(body, cwd, namespace, page)

"""Docs that can't rot: every relative link and anchor in README.md and docs/*.md resolves, every
`clearer ...` command line they show names a real command and real options, and every Python snippet
compiles and imports only names clearer has."""

from __future__ import annotations

import ast
import re
import shlex
from pathlib import Path

import pytest
import typer.main

from clearer.cli import app

from conftest import ROOT

PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")
FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.S | re.M)


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def anchors(page: Path) -> set[str]:
    text = FENCE.sub("", page.read_text())
    return {slug(line.lstrip("#")) for line in text.splitlines() if line.startswith("#")}


def blocks(page: Path, *languages: str) -> list[str]:
    return [body for lang, body in FENCE.findall(page.read_text()) if lang in languages]


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_every_relative_link_and_anchor_resolves(page):
    text = FENCE.sub("", page.read_text())
    for target in LINK.findall(text):
        if re.match(r"[a-z]+://", target) or target.startswith("mailto:"):
            continue
        path, _, anchor = target.partition("#")
        file = (page.parent / path).resolve() if path else page
        assert file.exists(), f"{page.name}: link to {target!r}: {file} does not exist"
        if anchor and file.suffix == ".md":
            assert anchor in anchors(file), f"{page.name}: no heading for #{anchor} in {file.name}"


def command_lines(page: Path) -> list[str]:
    """The `clearer ...` commands of a page's shell blocks, continuation lines joined."""
    out = []
    for body in blocks(page, "bash", "sh", "shell"):
        for line in body.replace("\\\n", " ").splitlines():
            line = line.split("  #")[0].strip()
            for part in re.split(r"&&|;", line):
                words = shlex.split(part.strip(), comments=True) if part.strip() else []
                if "clearer" in words[:4]:
                    out.append(words[words.index("clearer") :])
    return out


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_every_clearer_command_in_the_docs_exists_with_its_options(page):
    group = typer.main.get_command(app)
    for words in command_lines(page):
        if len(words) < 2 or words[1].startswith("-"):
            continue
        command = group.commands.get(words[1])
        assert command is not None, f"{page.name}: `clearer {words[1]}` is not a command ({' '.join(words)})"
        if hasattr(command, "commands"):  # a group, e.g. `clearer data fetch`
            command = command.commands.get(words[2]) if len(words) > 2 else command
            assert command is not None, f"{page.name}: {' '.join(words)}"
        known = {opt for p in command.params for opt in p.opts + p.secondary_opts} | {"--help", "--debug"}
        for word in words[2:]:
            option = word.split("=")[0]
            if option.startswith("--"):
                assert option in known, f"{page.name}: `clearer {words[1]}` has no option {option}"


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_python_snippets_compile_and_import_what_clearer_has(page):
    import importlib

    for body in blocks(page, "python"):
        source = re.sub(r",\s*\.\.\.(\s*[)}\]])", r"\1", body)  # "..., ...)" elisions in examples
        tree = ast.parse(source)
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "clearer":
                module = importlib.import_module(node.module)
                for alias in node.names:
                    assert hasattr(module, alias.name) or importlib.util.find_spec(f"{node.module}.{alias.name}"), (
                        f"{page.name}: from {node.module} import {alias.name}"
                    )

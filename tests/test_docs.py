"""The README and docs/: short, about the product, and every reference from the code resolves."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
ARCHITECTURE = DOCS / "architecture.md"
README_MAX_LINES = 400
# Words of a development log, which belong in no user-facing text.
LOG_WORDS = ("session", "this round", "the issue")
# Where the library and its tools live; their docstrings point into the docs.
CODE = [ROOT / "sensors", ROOT / "stabilize", ROOT / "stitch", ROOT / "cli.py", ROOT / "bench"]


def _user_docs() -> list[Path]:
    return [ROOT / "README.md", *sorted(DOCS.rglob("*.md"))]


def _code_files() -> list[Path]:
    files = []
    for place in CODE:
        files += [place] if place.is_file() else sorted(place.rglob("*.py"))
    return files


def _md_references(text: str) -> set[str]:
    """Markdown file names a source text mentions (``DESIGN.md``, ``docs/architecture.md``)."""
    return set(re.findall(r"(?<![\w/.-])((?:[\w.-]+/)*[\w.-]+\.md)\b", text))


def _exists(name: str, source: Path) -> bool:
    candidates = [ROOT / name, source.parent / name, DOCS / name]
    return any(p.is_file() for p in candidates)


def _headings(path: Path) -> list[tuple[int, str]]:
    """(level, title) of each Markdown heading, backticks removed."""
    out, fenced = [], False
    for line in path.read_text().splitlines():
        if line.startswith("```"):
            fenced = not fenced
        m = None if fenced else re.match(r"(#{1,6})\s+(.*?)\s*$", line)
        if m:
            out.append((len(m.group(1)), m.group(2).replace("`", "")))
    return out


def _section_names(text: str) -> set[str]:
    """Section names a text cites as ``DESIGN.md "X"``, ``docs/architecture.md "X" and "Y"``."""
    names = set()
    cite = r'(?:DESIGN|architecture)\.md[,\s(]*((?:"[^"\n]+"(?:\s*(?:,|and)\s*)?)+)'
    for group in re.findall(cite, text):
        names.update(re.findall(r'"([^"\n]+)"', group))
    return names


def _has_section(headings: list[tuple[int, str]], name: str) -> bool:
    """``name`` is a heading, or ``"parent child"`` a heading nested under another."""
    if any(title == name for _, title in headings):
        return True
    parts = name.split()
    for cut in range(1, len(parts)):
        parent, child = " ".join(parts[:cut]), " ".join(parts[cut:])
        for i, (level, title) in enumerate(headings):
            if title != parent:
                continue
            for sub_level, sub_title in headings[i + 1:]:
                if sub_level <= level:
                    break
                if sub_title == child:
                    return True
    return False


def test_readme_is_at_most_400_lines():
    lines = (ROOT / "README.md").read_text().splitlines()
    assert len(lines) <= README_MAX_LINES, f"README.md has {len(lines)} lines"


def test_user_docs_have_no_development_log_words():
    found = []
    for path in _user_docs():
        for n, line in enumerate(path.read_text().splitlines(), 1):
            for word in LOG_WORDS:
                if re.search(rf"\b{word}\b", line, re.IGNORECASE):
                    found.append(f"{path.relative_to(ROOT)}:{n}: {word!r}")
    assert not found, "\n".join(found)


def test_code_and_tests_have_no_development_log_words():
    # "session" is a word of the code's own (pytest fixtures, terminal sessions): not checked
    pattern = re.compile(r"\b(issue[ -]?\d+|this round|the issue)\b", re.IGNORECASE)
    files = [p for p in _code_files() + sorted((ROOT / "tests").glob("*.py"))
             if p.name != "test_docs.py"] + [ROOT / "Makefile"]
    found = [f"{path.relative_to(ROOT)}:{n}: {m.group(0)!r}"
             for path in files
             for n, line in enumerate(path.read_text().splitlines(), 1)
             for m in [pattern.search(line)] if m]
    assert not found, "\n".join(found)


def test_every_markdown_file_the_code_names_exists():
    missing = sorted(
        f"{path.relative_to(ROOT)}: {name}"
        for path in _code_files()
        for name in _md_references(path.read_text())
        if not _exists(name, path)
    )
    assert not missing, "\n".join(missing)


def test_every_design_section_the_code_cites_is_in_architecture_md():
    headings = _headings(ARCHITECTURE)
    cited = {name for path in _code_files() for name in _section_names(path.read_text())}
    assert cited, "no citations found: the pattern no longer matches the docstrings"
    missing = sorted(name for name in cited if not _has_section(headings, name))
    assert not missing, f"not a heading of docs/architecture.md: {missing}"


def test_readme_images_exist_and_are_small():
    readme = (ROOT / "README.md").read_text()
    images = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", readme)
    assert len(images) >= 2
    for rel in images:
        path = ROOT / rel
        assert path.is_file(), rel
        assert path.stat().st_size < 300 * 1024, f"{rel}: {path.stat().st_size} bytes"


def _anchor(title: str) -> str:
    """The anchor a Markdown renderer gives a heading (lower case, punctuation dropped)."""
    return re.sub(r"[^\w\- ]", "", title.lower()).replace(" ", "-")


def test_relative_links_in_docs_resolve():
    broken = []
    for path in _user_docs():
        for target in re.findall(r"\]\(([^)\s]+)\)", path.read_text()):
            if re.match(r"[a-z]+:", target):
                continue
            file, _, anchor = target.partition("#")
            dest = path.parent / file if file else path
            if not dest.exists():
                broken.append(f"{path.relative_to(ROOT)}: {target}")
            elif anchor and anchor not in {_anchor(t) for _, t in _headings(dest)}:
                broken.append(f"{path.relative_to(ROOT)}: {target} (no such heading)")
    assert not broken, "\n".join(broken)


def test_cli_reference_shows_the_current_help():
    spec = importlib.util.spec_from_file_location("cli_help", DOCS / "cli_help.py")
    cli_help = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(cli_help)
    text = cli_help.CLI_MD.read_text()
    assert cli_help.refreshed(text) == text, (
        "docs/cli.md differs from `steadyrig ... --help`: run python docs/cli_help.py")

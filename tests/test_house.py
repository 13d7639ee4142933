"""The house rules the layout relies on: no import circle, no module over 600 lines."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("sensors", "stabilize", "stitch", "cli_commands")


def _modules() -> dict[str, Path]:
    mods = {}
    for top in PACKAGES:
        for f in (ROOT / top).rglob("*.py"):
            parts = list(f.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts = parts[:-1]
            mods[".".join(parts)] = f
    return mods


def _imports(name: str, path: Path, mods: dict[str, Path]) -> set[str]:
    """Project modules ``name`` imports anywhere but under ``if TYPE_CHECKING:``."""
    pkg = name if path.name == "__init__.py" else name.rpartition(".")[0]
    tree = ast.parse(path.read_text())
    skip = {id(x) for n in ast.walk(tree) if isinstance(n, ast.If)
            and "TYPE_CHECKING" in ast.unparse(n.test) for b in n.body for x in ast.walk(b)}
    out = set()
    for n in ast.walk(tree):
        if id(n) in skip or not isinstance(n, ast.Import | ast.ImportFrom):
            continue
        if isinstance(n, ast.Import):
            names = [a.name for a in n.names]
        else:
            base = n.module or ""
            if n.level:
                up = pkg.split(".")[: len(pkg.split(".")) - (n.level - 1)]
                base = ".".join([*up, base] if base else up)
            subs = [f"{base}.{a.name}" for a in n.names]
            names = subs if all(s in mods for s in subs) else [base, *subs]
        for x in names:
            while x and x not in mods:
                x = x.rpartition(".")[0]
            if x and x != name:
                out.add(x)
    return out


def test_no_module_imports_one_that_imports_it_back():
    mods = _modules()
    graph = {m: _imports(m, f, mods) for m, f in mods.items()}

    def reach(a):
        seen, todo = set(), [a]
        while todo:
            for b in graph[todo.pop()]:
                if b not in seen:
                    seen.add(b)
                    todo.append(b)
        return seen

    circles = sorted(m for m in graph if m in reach(m))
    assert not circles, "import circles through: " + ", ".join(circles)


def test_no_library_module_is_over_600_lines():
    files = [f for top in PACKAGES for f in (ROOT / top).rglob("*.py")] + [ROOT / "cli.py"]
    long = {str(f.relative_to(ROOT)): n for f in files
            if (n := len(f.read_text().splitlines())) > 600}
    assert not long, long


#: The one place stabilize may use stitch: dual-fisheye video stitches its frames.
STITCH_USERS = "stabilize.dual_fisheye"


def test_the_layers_point_one_way():
    # sensors knows nothing of stabilize and stitch; stitch never imports stabilize, and
    # stabilize imports stitch from its dual-fisheye package only
    mods = _modules()
    users = set()
    for m, f in mods.items():
        top = m.split(".")[0]
        deps = {d.split(".")[0] for d in _imports(m, f, mods)}
        if top == "sensors":
            assert not deps & {"stabilize", "stitch", "cli_commands"}, m
        elif top == "stabilize":
            assert "cli_commands" not in deps, m
            if "stitch" in deps:
                assert m == STITCH_USERS or m.startswith(STITCH_USERS + "."), (
                    f"{m} imports stitch; only {STITCH_USERS} may")
                users.add(m)
        elif top == "stitch":
            assert not deps & {"stabilize", "cli_commands"}, m
    assert users, f"{STITCH_USERS} no longer uses stitch: tighten this rule again"

"""What `kdbgtest init` writes into a repository: `scenarios/` with an example scenario and the JSON Schema its
modeline names (a path beside the file, so it still holds when the folder is copied elsewhere), a `noxfile.py`
with a `scenarios` session, and `clusters/` with the kind configs kdbgtest ships. Existing files are kept
unless `force`; every decision is reported as one line."""

from __future__ import annotations

from pathlib import Path

from kdbgtest.base import shipped
from kdbgtest.scenario import schema

HERE = Path(__file__).resolve().parent
SCHEMA_FILE = "scenario.schema.json"


def write_starter(root: Path, *, force: bool = False) -> list[str]:
    """Write the starter files below `root`; return one line per file (written, or kept and why)."""
    files: dict[Path, str] = {
        root / "scenarios" / "example.yaml": (HERE / "example.yaml").read_text(encoding="utf-8"),
        root / "scenarios" / SCHEMA_FILE: schema.json_schema_text(),
        root / "noxfile.py": (HERE / "noxfile.py.txt").read_text(encoding="utf-8"),
    }
    clusters = shipped.path("clusters")
    for config in [*sorted(clusters.glob("kind-*.yaml")), clusters / "README.md"]:
        files[root / "clusters" / config.name] = config.read_text(encoding="utf-8")
    lines = []
    for path, text in files.items():
        if path.exists() and not force:
            lines.append(f"kept {path} (it exists; --force overwrites it)")
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        lines.append(f"wrote {path}")
    return lines


def images_note() -> str:
    """Where the image Dockerfiles are, for building the images some scenarios use."""
    return (
        f"the Dockerfiles of kdbgtest's images (distroless app, debug toolbox) are in {shipped.path('images')}; "
        "`kdbgtest images build` builds them and `kdbgtest images load --name CLUSTER` loads them into kind"
    )

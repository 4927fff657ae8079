"""The README and docs/ describe this repository on their own: no path that leaves it, and
the quick start says how to run the demo on another port."""
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]


def test_no_document_points_outside_the_repository():
    outside = [(path.name, match) for path in DOCS for match in re.findall(r"\.\./[\w./-]+", path.read_text())]
    assert not outside, outside


def test_every_docs_path_the_readme_names_exists():
    named = set(re.findall(r"`(docs/[\w./-]+)`", (ROOT / "README.md").read_text()))
    assert named and not [path for path in named if not (ROOT / path).exists()], named


def test_quick_start_says_how_to_change_the_port():
    quick_start = (ROOT / "README.md").read_text().split("## Architecture")[0]
    assert "TEXTPILOT_PORT=" in quick_start

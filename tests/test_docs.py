"""Every ```python block in README.md and docs/*.md runs (examples stay true).

Fragments that cannot run on their own are fenced ```py instead.
"""

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FILES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
BLOCK = re.compile(r"^```python\n(.*?)^```", re.S | re.M)


def blocks():
    for path in FILES:
        for i, match in enumerate(BLOCK.finditer(path.read_text())):
            yield pytest.param(match.group(1), id=f"{path.relative_to(ROOT)}#{i}")


@pytest.mark.parametrize("code", list(blocks()))
def test_python_block_runs(code, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    exec(compile(code, "<doc>", "exec"), {"__name__": "__doc_example__"})


def test_readme_output_is_what_the_example_prints(capsys):
    text = (ROOT / "README.md").read_text()
    code = BLOCK.search(text).group(1)
    exec(compile(code, "<readme>", "exec"), {})
    printed = capsys.readouterr().out
    first_line = printed.splitlines()[0]
    assert first_line in text and "overall: PASS" in printed

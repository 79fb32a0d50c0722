"""The runnable example in docs/ga.md runs."""

import re
from pathlib import Path

DOC = Path(__file__).resolve().parents[2] / "docs" / "ga.md"


def test_quick_start_example_runs():
    block = re.search(r"```python\n(.*?)```", DOC.read_text(), re.S).group(1)
    exec(compile(block, str(DOC), "exec"), {})

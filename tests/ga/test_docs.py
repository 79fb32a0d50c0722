"""The runnable examples in docs/ga.md run and print what the doc says they print (that each
block runs on its own is tests/test_docs.py's check)."""

import contextlib
import io
import re
from pathlib import Path

DOC = Path(__file__).resolve().parents[2] / "docs" / "ga.md"
BLOCK = re.compile(r"```python\n(.*?)```(?:\s*prints\s*```text\n(.*?)```)?", re.S)


def test_python_examples_run_and_print_what_the_doc_shows():
    blocks = BLOCK.findall(DOC.read_text())
    assert len(blocks) >= 2
    for code, printed in blocks:
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            exec(compile(code, str(DOC), "exec"), {})
        if printed:
            assert printed.strip() == out.getvalue().strip()

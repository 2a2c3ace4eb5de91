"""The ending every bench script shares: print the markdown report, and write it where asked."""

from pathlib import Path


def emit(lines: list[str], path: Path | None) -> None:
    text = "\n".join(lines) + "\n"
    print(text)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)

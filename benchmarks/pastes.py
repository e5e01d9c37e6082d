"""How long `doctor --from` takes to read a paste of a few MB, adversarial ones included.

docs/DESIGN.md: readers are total and bounded, "in well under a second for a few MB". Each case is read
(read_report) and checked (run_all) in this process, three times; the best time is printed beside
the size. Compared with a plain `text.splitlines()` of the same text, the floor for anything that
looks at every line.

    python benchmarks/pastes.py
"""

from __future__ import annotations

import time
from pathlib import Path

from envcheck.checks import run_all
from envcheck.compat import Tables
from envcheck.reports import ReportError, read_report

HERE = Path(__file__).resolve().parent.parent / "tests" / "fixtures"


def cases() -> dict[str, str]:
    env = (HERE / "reports" / "driver_too_old_a100_torch2_1_cu121.txt").read_text()
    pastes = sorted((HERE / "pastes").glob("*.txt"))
    mixed = "\n".join(p.read_text(encoding="utf-8") for p in pastes) if pastes else env
    return {
        "collect_env report, quoted, x400": "\n".join("> " + line for line in env.splitlines()) * 400,
        "every real paste, concatenated, x20": mixed * 20,
        "2,000,000 blank lines between two words": "PyTorch" + "\n" * 2_000_000 + "version",
        "one 3 MB line": "x" * 3_000_000,
        "traceback of 100,000 frames": "Traceback (most recent call last):\n" + '  File "a.py", line 1\n' * 100_000
        + "RuntimeError: CUDA error: no kernel image is available for execution on the device\n",
        "1,000,000 quote markers": "> " * 1_000_000 + "\n",
    }


def best_of(fn, n: int = 3) -> float:
    times = []
    for _ in range(n):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    tables = Tables()
    print(f"{'case':42} {'MB':>6} {'read+check s':>13} {'splitlines s':>13} {'ratio':>7}")
    for name, text in cases().items():
        def read(text=text):
            try:
                run_all(read_report(text, tables), tables)
            except ReportError:
                pass
        t = best_of(read)
        floor = best_of(text.splitlines)
        print(f"{name:42} {len(text.encode()) / 1e6:6.1f} {t:13.3f} {floor:13.4f} {t / floor:7.0f}")


if __name__ == "__main__":
    main()

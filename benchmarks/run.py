"""Run every benchmark in `benchmarks/`, one after the other, each in its own process.

A benchmark is a script `benchmarks/NAME.py` (names starting with `_`, and this file, are not)
or a folder `benchmarks/NAME/` with a `__main__.py`. Each runs as `python PATH [ARGS]`; the
exit status is non-zero if any benchmark fails.

Usage: python benchmarks/run.py [NAME ...] [-- ARGS passed to every benchmark]
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def discover() -> dict[str, Path]:
    """Benchmarks by name, in name order."""
    found: dict[str, Path] = {}
    for path in sorted(HERE.iterdir()):
        if path.name.startswith(("_", ".")) or path == Path(__file__).resolve():
            continue
        if path.suffix == ".py" or (path.is_dir() and (path / "__main__.py").is_file()):
            found[path.stem] = path
    return found


def run_one(name: str, path: Path, args: list[str]) -> tuple[int, float]:
    print(f"\n=== {name} ===", flush=True)
    started = time.perf_counter()
    returncode = subprocess.run([sys.executable, str(path), *args], check=False).returncode
    return returncode, time.perf_counter() - started


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    names, args = argv, []
    if "--" in argv:
        split = argv.index("--")
        names, args = argv[:split], argv[split + 1 :]
    available = discover()
    unknown = [name for name in names if name not in available]
    if unknown:
        print(f"unknown benchmark(s): {', '.join(unknown)}; have: {', '.join(available)}")
        return 2
    chosen = {name: available[name] for name in names} if names else available
    results = {name: run_one(name, path, args) for name, path in chosen.items()}
    print("\n=== summary ===")
    for name, (returncode, seconds) in results.items():
        print(
            f"{name:<24} {'ok' if returncode == 0 else f'FAILED ({returncode})':<12} {seconds:.1f}s"
        )
    return 1 if any(returncode for returncode, _ in results.values()) else 0


if __name__ == "__main__":
    sys.exit(main())

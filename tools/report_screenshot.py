"""Regenerate docs/report.png: run the README's first command's audit, open out/report.html in chromium, screenshot.

Usage (from the repository root, with the package installed and Debian's chromium on PATH):

    python tools/report_screenshot.py [--out docs/report.png] [--keep RUN_DIR]

The audit is exactly the one the README's first set-up command runs (read from README.md, today
`qa-engine audit examples/caseload.jsonl --as-of 2016-02-15 --out out`), into a temporary folder, so an
`out` you have is never touched. The page is opened with no network, the first criterion opened,
and the top of the page captured at 1280 x 1400.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def readme_command() -> list[str]:
    """The arguments of the `qa-engine audit ...` in the README's first set-up command, without `--out DIR`."""
    import re
    import shlex

    text = (ROOT / "README.md").read_text(encoding="utf-8")
    first = next(line for line in text.splitlines() if "qa-engine audit " in line)
    words = shlex.split(re.sub(r"^.*?qa-engine audit ", "audit ", first).split("&&")[0])
    at = words.index("--out")
    return words[:at] + words[at + 2:]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "report.png")
    parser.add_argument("--keep", type=Path, help="Also keep the run folder here.")
    parser.add_argument("--height", type=int, default=1400)
    args = parser.parse_args()
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        print("Debian's chromium is needed: apt-get install chromium", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory() as tmp:
        run = Path(tmp) / "out"
        command = readme_command()
        print("qa-engine " + " ".join(command) + " --out " + str(run))
        subprocess.run([sys.executable, "-m", "qa_engine", *command, "--out", str(run)], cwd=ROOT, check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        from playwright.sync_api import sync_playwright

        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=chromium, args=["--no-sandbox", "--disable-gpu"])
            page = browser.new_page(viewport={"width": 1280, "height": args.height})
            page.goto((run / "report.html").as_uri())
            page.locator("details.criterion").first.evaluate("d => d.open = true")
            args.out.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(args.out), full_page=False)
            browser.close()
        if args.keep:
            shutil.copytree(run, args.keep, dirs_exist_ok=True)
    print(f"Wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

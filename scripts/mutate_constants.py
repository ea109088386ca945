"""The constants pass of ``make mutation``: change module-level tables and limits.

mutmut 3 mutates only code inside functions, so the tables that carry most of
these modules' rules -- the SSRF ranges, the default retry schedule, the
jitter, the filter limits, the digit/hex/base64 patterns -- would go
untested. Each entry below changes one constant in a scratch copy of
``src/``; the unit tests (``tests/unit``) must fail for it. Every entry must
be killed: an equivalent change does not belong in this table.

Run from the repository root: ``.venv-mutation/bin/python scripts/mutate_constants.py``.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CORE = "src/hookpost/core"
DOMAIN = "src/hookpost/domain"
PROFILES = "src/hookpost/profiles"

#: (file, exact text, replacement)
MUTATIONS: list[tuple[str, str, str]] = [
    (f"{DOMAIN}/_retry.py", "JITTER = 0.2", "JITTER = 0.0"),
    (f"{DOMAIN}/_retry.py", "JITTER = 0.2", "JITTER = 0.3"),
    (
        f"{DOMAIN}/_retry.py",
        "OVERLOADED = frozenset({429, 502, 503, 504})",
        "OVERLOADED = frozenset({429, 503, 504})",
    ),
    (
        f"{DOMAIN}/_retry.py",
        "RETRY_AFTER_MIN, RETRY_AFTER_MAX = 1.0, 3600.0",
        "RETRY_AFTER_MIN, RETRY_AFTER_MAX = 0.0, 3600.0",
    ),
    (
        f"{DOMAIN}/_retry.py",
        "RETRY_AFTER_MIN, RETRY_AFTER_MAX = 1.0, 3600.0",
        "RETRY_AFTER_MIN, RETRY_AFTER_MAX = 1.0, 3601.0",
    ),
    (
        f"{DOMAIN}/_retry.py",
        r'_SECONDS = re.compile(r"\d+(\.\d+)?")',
        r'_SECONDS = re.compile(r"\d+")',
    ),
    (
        f"{DOMAIN}/_retry.py",
        "DEFAULT_MAX_ATTEMPTS = len(DEFAULT_SCHEDULE)",
        "DEFAULT_MAX_ATTEMPTS = 7",
    ),
    (f"{CORE}/filters.py", "MAX_DEPTH = 8", "MAX_DEPTH = 7"),
    (f"{CORE}/filters.py", "MAX_DEPTH = 8", "MAX_DEPTH = 9"),
    (f"{CORE}/filters.py", "MAX_NODES = 200", "MAX_NODES = 199"),
    (f"{CORE}/filters.py", "MAX_NODES = 200", "MAX_NODES = 201"),
    (f"{CORE}/filters.py", '"$exists", *_COMPARE}', "*_COMPARE}"),
    (
        f"{CORE}/filters.py",
        '_COMPARE = {"$gt", "$gte", "$lt", "$lte"}',
        '_COMPARE = {"$gt", "$lt", "$lte"}',
    ),
    (f"{CORE}/jsonenc.py", "_ARRAY_INDEX_MAX = 2**32 - 2", "_ARRAY_INDEX_MAX = 2**32 - 1"),
    (f"{CORE}/jsonenc.py", "_ARRAY_INDEX_MAX = 2**32 - 2", "_ARRAY_INDEX_MAX = 2**32 - 3"),
    (f"{CORE}/jsonenc.py", "{16}):(", "{15}):("),
    (f"{PROFILES}/_checks.py", "[0-9]{1,19}", "[0-9]{1,20}"),
    (f"{PROFILES}/_checks.py", "[0-9]{1,19}", "[0-9]{1,18}"),
    (f"{PROFILES}/_checks.py", "[0-9]{1,19}", r"\d{1,19}"),
    (
        f"{PROFILES}/_checks.py",
        'ASYMMETRIC_PREFIXES = ("whsk_", "whpk_")',
        'ASYMMETRIC_PREFIXES = ("whsk_",)',
    ),
    (
        f"{PROFILES}/_checks.py",
        'ASYMMETRIC_PREFIXES = ("whsk_", "whpk_")',
        'ASYMMETRIC_PREFIXES = ("whpk_",)',
    ),
    (f"{PROFILES}/_encoding.py", "[0-9a-fA-F]{2}", "[0-9a-f]{2}"),
    (f"{PROFILES}/_encoding.py", "(?:[0-9a-fA-F]{2})+", "[0-9a-fA-F]+"),
    (f"{PROFILES}/_encoding.py", "={0,2}", "={0,3}"),
    (f"{PROFILES}/_encoding.py", "={0,2}", "={0,1}"),
    (f"{PROFILES}/_encoding.py", r"[A-Za-z0-9+/\-_]+", r"[A-Za-z0-9+/]+"),
    (f"{PROFILES}/_encoding.py", r"[A-Za-z0-9+/\-_]+", r"[A-Za-z0-9\-_]+"),
    (
        f"{CORE}/netguard.py",
        '_NAT64 = IPv6Network("64:ff9b::/96")',
        '_NAT64 = IPv6Network("64:ff9b::/128")',
    ),
    (
        f"{CORE}/netguard.py",
        '_V4_COMPATIBLE = IPv6Network("::/96")',
        '_V4_COMPATIBLE = IPv6Network("::/128")',
    ),
    (f"{CORE}/netguard.py", '{0,3}$", re.IGNORECASE)', '{0,3}$")'),
    (f"{CORE}/netguard.py", '{0,3}$", re.IGNORECASE)', '{0,2}$", re.IGNORECASE)'),
]

# Every row of the SSRF tables: deleting it, and narrowing it, must fail a test.
_TABLE_ROW = re.compile(r'^        \("([0-9a-f:./]+)", "([^"]+)"\),', re.MULTILINE)


#: Rows whose deletion or narrowing is equivalent on Python 3.11: the stdlib's own
#: flags, consulted after the table, refuse the same addresses with the same reason
#: ("reserved" for not is_global, "multicast" for is_multicast). The rows stay because
#: those stdlib tables changed between patch releases; relabelling them is still tested.
STDLIB_COVERED = {
    *("198.18.0.0/15", "224.0.0.0/4", "240.0.0.0/4"),
    *("100::/64", "2001::/23", "ff00::/8"),
}


def _table_mutations() -> list[tuple[str, str, str]]:
    path = f"{CORE}/netguard.py"
    text = (ROOT / path).read_text()
    out = []
    for m in _TABLE_ROW.finditer(text):
        row = m.group(0)
        network, why = m.group(1), m.group(2)
        out.append((path, row, row.replace(f'"{why}"', '"other"')))
        if network in STDLIB_COVERED:
            continue
        out.append((path, row, ""))
        net, _, bits = network.partition("/")
        if bits and int(bits) < (32 if "." in net else 128) - 1:
            out.append((path, row, row.replace(f"/{bits}", f"/{int(bits) + 1}")))
    return out


def _retry_schedule_mutations() -> list[tuple[str, str, str]]:
    path = f"{DOMAIN}/_retry.py"
    line = "DEFAULT_SCHEDULE: tuple[float, ...] = (0, 5, 300, 1800, 7200, 18000, 36000, 36000)"
    steps = ["0", "5", "300", "1800", "7200", "18000", "36000", "36000"]
    out = []
    for i in range(len(steps)):
        changed = [*steps]
        changed[i] = str(int(changed[i]) + 1)
        out.append((path, line, line.replace(", ".join(steps), ", ".join(changed))))
    out.append((path, line, line.replace(", 36000, 36000)", ", 36000)")))
    return out


def _unit_tests(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pytest", "tests/unit", "-x", "-q",
         "-p", "no:cacheprovider", "--noconftest"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip


def main() -> int:
    mutations = MUTATIONS + _table_mutations() + _retry_schedule_mutations()
    survived: list[tuple[str, str, str]] = []
    with tempfile.TemporaryDirectory() as tmp:
        scratch = Path(tmp) / "src"
        shutil.copytree(ROOT / "src", scratch)
        env = {**os.environ, "PYTHONPATH": str(scratch)}
        probe = subprocess.run(
            [sys.executable, "-c", "import hookpost; print(hookpost.__file__)"],
            env=env, capture_output=True, text=True, check=True,
        )  # fmt: skip
        if not probe.stdout.startswith(str(scratch)):
            print(f"the scratch copy is not the one imported: {probe.stdout.strip()}")
            return 2
        baseline = _unit_tests(env)
        if baseline.returncode != 0:
            print("the unit tests fail without any change:\n" + baseline.stdout[-3000:])
            return 2
        for path, old, new in mutations:
            target = scratch / Path(path).relative_to("src")
            original = target.read_text()
            if original.count(old) != 1:
                print(f"STALE: {path}: {old!r} is not found exactly once; update the table")
                survived.append((path, old, new))
                continue
            target.write_text(original.replace(old, new))
            try:
                run = _unit_tests(env)
            finally:
                target.write_text(original)
            killed = run.returncode != 0
            if not killed:
                survived.append((path, old, new))
            verdict = "killed  " if killed else "SURVIVED"
            print(f"{verdict} {path}: {old.strip()!r} -> {new.strip()!r}")
    print(f"\nconstants: {len(mutations)} changes, {len(mutations) - len(survived)} killed, "
          f"{len(survived)} survived")  # fmt: skip
    return 1 if survived else 0


if __name__ == "__main__":
    sys.exit(main())

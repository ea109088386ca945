"""Summarize a ``mutmut run`` per module, and check every survivor is a known equivalent.

``make mutation`` runs mutmut over the modules listed in ``[tool.mutmut]`` of
pyproject.toml, then this script. A surviving mutant is fine only if it is
listed in :data:`EQUIVALENT` below -- matched by the line it removes and the
line it adds, not by mutmut's number, which shifts whenever the module
changes -- with the reason it cannot change behaviour. Then it runs the
constants pass (``scripts/mutate_constants.py``), since mutmut 3 mutates only
code inside functions. Exit status 1 if any mutant survives unexplained.

Run from the repository root, with the mutation venv:
``.venv-mutation/bin/python scripts/mutation_report.py [--skip-constants]``.
"""

from __future__ import annotations

import re
import subprocess
import sys
from collections import Counter, defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MUTMUT = [str(Path(sys.executable).with_name("mutmut"))]

#: (module, removed line, added line) -> why the mutant cannot change behaviour.
EQUIVALENT: dict[tuple[str, str, str], str] = {}


def _same(module: str, pairs: list[tuple[str, str]], why: str) -> None:
    for removed, added in pairs:
        EQUIVALENT[(module, removed, added)] = why


_CODEC = "codec names are case-insensitive: 'UTF-8' and 'ASCII' are the same codecs"
_FALSY = "None is falsy, so the keyword means the same as False"
_same(
    "hookpost.profiles._checks",
    [
        ('return secret.encode("utf-8")', 'return secret.encode("UTF-8")'),
        ('secret.encode("utf-8")', 'secret.encode("UTF-8")'),
    ],
    _CODEC,
)
_same(
    "hookpost.profiles._encoding",
    [
        (
            'return base64.b64encode(raw).decode("ascii")',
            'return base64.b64encode(raw).decode("ASCII")',
        ),
        (
            'return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")',
            'return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ASCII")',
        ),
    ],
    _CODEC,
)
_same(
    "hookpost.profiles._encoding",
    [
        ("if len(unpadded) % 4 == 1:", "if len(unpadded) / 4 == 1:"),
    ],
    "an early refusal of a length of 4n+1 characters: b64decode refuses those lengths "
    "itself and the except clause answers None, the same result",
)
_same(
    "hookpost.profiles._encoding",
    [
        (
            'return base64.b64decode(unpadded + "=" * (-len(unpadded) % 4), validate=True)',
            'return base64.b64decode(unpadded + "=" * (-len(unpadded) % 4), )',
        ),
        (
            'return base64.b64decode(unpadded + "=" * (-len(unpadded) % 4), validate=True)',
            'return base64.b64decode(unpadded + "=" * (-len(unpadded) % 4), validate=False)',
        ),
    ],
    "the _B64 pattern has already refused every character outside the alphabet, so the "
    "non-validating decoder has nothing to discard",
)
_same(
    "hookpost.core.jsonenc",
    [
        (
            'return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode("utf-8")',
            'return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode("UTF-8")',
        ),
        (
            'return _PLACEHOLDER.sub(swap, text).encode("utf-8")',
            'return _PLACEHOLDER.sub(swap, text).encode("UTF-8")',
        ),
    ],
    _CODEC,
)
_same(
    "hookpost.core.jsonenc",
    [
        (
            'return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode("utf-8")',
            'return json.dumps(value, separators=(",", ":"), ensure_ascii=None).encode("utf-8")',
        ),
        (
            'text = json.dumps(_js_form(value, token, numbers), separators=(",", ":"), '
            "ensure_ascii=False)",
            'text = json.dumps(_js_form(value, token, numbers), separators=(",", ":"), '
            "ensure_ascii=None)",
        ),
        (
            'return json.dumps(value, separators=(",", ":"), ensure_ascii=False)',
            'return json.dumps(value, separators=(",", ":"), ensure_ascii=None)',
        ),
    ],
    _FALSY,
)
_same(
    "hookpost.core.jsonenc",
    [
        (
            'digits = "".join(map(str, digits_t)).rstrip("0") or "0"',
            'digits = "".join(map(str, digits_t)).rstrip("XX0XX") or "0"',
        ),
    ],
    "digits are 0-9 only, so stripping 'X' as well as '0' strips the same",
)
_same(
    "hookpost.core.jsonenc",
    [
        (
            'digits = "".join(map(str, digits_t)).rstrip("0") or "0"',
            'digits = "".join(map(str, digits_t)).rstrip("0") or "XX0XX"',
        ),
        ('neg = "-" if x < 0 else ""', 'neg = "-" if x <= 0 else ""'),
    ],
    "x == 0 returned '0' above, so a nonzero x always has a nonzero digit and is never 0",
)
_same(
    "hookpost.core.jsonenc",
    [
        ("if 0 < n <= 21:", "if 0 < n < 21:"),
        ("if -6 < n <= 0:", "if -6 < n <= 1:"),
    ],
    "the boundary value is taken by an earlier branch: n == 21 means k <= 17 <= n (first "
    "branch) and n == 1 is caught by the first or second branch",
)
_same(
    "hookpost.core.jsonenc",
    [
        (
            "return f\"{neg}{mantissa}e{'+' if e >= 0 else '-'}{abs(e)}\"",
            "return f\"{neg}{mantissa}e{'+' if e > 0 else '-'}{abs(e)}\"",
        ),
        (
            "return f\"{neg}{mantissa}e{'+' if e >= 0 else '-'}{abs(e)}\"",
            "return f\"{neg}{mantissa}e{'+' if e >= 1 else '-'}{abs(e)}\"",
        ),
    ],
    "the exponent form is reached only with n > 21 (e >= 21) or n <= -6 (e <= -7): e is never 0",
)
_same(
    "hookpost.core.netguard",
    [
        (
            "out.append(ip_network(item, strict=False))",
            "out.append(ip_network(item, strict=None))",
        ),
    ],
    _FALSY,
)
_same(
    "hookpost.core.netguard",
    [
        ('return "multicast"', 'return "XXmulticastXX"'),
        ('return "multicast"', 'return "MULTICAST"'),
        ('return "reserved"', 'return "XXreservedXX"'),
        ('return "reserved"', 'return "RESERVED"'),
    ],
    "stdlib catch-alls after the explicit tables, unreachable with Python 3.11's tables: "
    "224.0.0.0/4 and ff00::/8 are table rows, and every IPv4 address the stdlib calls "
    "non-global is in a row; kept for a future stdlib that adds ranges",
)
_same(
    "hookpost.core.netguard",
    [
        (
            "if ip.is_reserved or ip.is_private or not ip.is_global:",
            "if ip.is_reserved or ip.is_private and not ip.is_global:",
        ),
    ],
    "on Python 3.11 IPv6Address.is_global is defined as `not is_private`, so "
    "`is_private and not is_global` equals `is_private`",
)
_same(
    "hookpost.core.netguard",
    [
        (
            "addr = ip if isinstance(ip, IPv4Address | IPv6Address) else ip_address(ip)",
            "addr = ip if (isinstance(ip, IPv4Address | IPv6Address)) and False else "
            "ip_address(ip)",
        ),
    ],
    "ip_address() of an address object returns an equal address object",
)
_same(
    "hookpost.domain._outcome",
    [
        (
            'return answer.headers.get(ABORT_HEADER, "").strip().lower() == ABORT_VALUE',
            'return answer.headers.get(ABORT_HEADER, "XXXX").strip().lower() == ABORT_VALUE',
        ),
    ],
    "a missing header's stand-in only has to differ from 'abort': '' and 'xxxx' both do",
)

_DIFF_LINE = re.compile(r"^([-+])(?![-+]{2} )(.*)$")


def _results() -> dict[str, str]:
    out = subprocess.run(
        [*MUTMUT, "results", "--all", "true"], capture_output=True, text=True, cwd=ROOT
    ).stdout
    status: dict[str, str] = {}
    for line in out.splitlines():
        name, _, state = line.strip().rpartition(": ")
        if name:
            status[name] = state
    return status


def _change(name: str) -> tuple[str, str]:
    diff = subprocess.run([*MUTMUT, "show", name], capture_output=True, text=True, cwd=ROOT).stdout
    removed = added = ""
    for line in diff.splitlines():
        m = _DIFF_LINE.match(line)
        if m and m.group(1) == "-" and not removed:
            removed = m.group(2).strip()
        elif m and m.group(1) == "+" and not added:
            added = m.group(2).strip()
    return removed, added


def main() -> int:
    status = _results()
    per_module: dict[str, Counter[str]] = defaultdict(Counter)
    unexplained: list[tuple[str, str, str]] = []
    equivalent: list[tuple[str, str]] = []
    for name, state in sorted(status.items()):
        module = name.split(".x", 1)[0]
        per_module[module][state] += 1
        if state == "killed":
            continue
        removed, added = _change(name)
        why = EQUIVALENT.get((module, removed, added))
        if why is None:
            unexplained.append((name, removed, added))
        else:
            equivalent.append((name, why))
    print(f"{'module':34} {'mutants':>7} {'killed':>7} {'equivalent':>10} {'unexplained':>11}")
    for module, counts in sorted(per_module.items()):
        eq = sum(1 for n, _ in equivalent if n.startswith(module + ".x"))
        bad = sum(1 for n, _, _ in unexplained if n.startswith(module + ".x"))
        print(f"{module:34} {sum(counts.values()):7} {counts['killed']:7} {eq:10} {bad:11}")
    for name, removed, added in unexplained:
        print(f"\nUNEXPLAINED {name} ({status[name]})\n  - {removed}\n  + {added}")
    code = 1 if unexplained else 0
    if "--skip-constants" not in sys.argv:
        constants = subprocess.run(
            [sys.executable, str(ROOT / "scripts" / "mutate_constants.py")], cwd=ROOT
        )
        code = code or constants.returncode
    return code


if __name__ == "__main__":
    sys.exit(main())

"""Copy-as-curl: an attempt's exact request as a shell command.

Replaying a delivery by hand is the first thing anyone debugging a receiver
does. The command repeats the recorded URL, headers (signature included) and
body byte for byte: ``--path-as-is`` so curl keeps dot segments, ``--globoff``
so it does not expand ``[]`` and ``{}``, ``--data-raw`` so it does not treat a
leading ``@`` as a file name. Headers that curl sets itself from the request
(length, host) are left out so they cannot disagree with it; the others --
the User-Agent and Accept-Encoding hookpost sent included -- override curl's.
"""

from __future__ import annotations

import shlex
from collections.abc import Mapping

_CURL_OWNS = frozenset({"content-length", "host"})


def curl_command(url: str, headers: Mapping[str, str], body: str) -> str:
    parts = ["curl", "-X", "POST", shlex.quote(url)]
    for name, value in headers.items():
        if name.lower() in _CURL_OWNS:
            continue
        parts += ["-H", shlex.quote(f"{name}: {value}")]
    parts += ["--data-raw", shlex.quote(body)]
    lines = [" ".join(parts[:4]), "  --path-as-is --globoff"]
    i = 4
    while i < len(parts):
        lines.append(f"  {parts[i]} {parts[i + 1]}")
        i += 2
    return " \\\n".join(lines)

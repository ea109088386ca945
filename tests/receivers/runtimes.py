"""Debian's PHP, Ruby and Node as the receivers' languages: parse a JSON text
and write it back out the way each language's own serializer does.

``reserialize(language, texts)`` runs one process for the whole list (one text
per line in, one per line out) and returns what the language wrote:

- ``php``: ``json_encode(json_decode($line, true))``, as Laravel's
  ``json_encode($request->all())`` does with a JSON request;
- ``ruby``: ``JSON.generate(JSON.parse(line))``, as ``JSON.generate(request.params)``
  does once the body is parsed into the params;
- ``javascript``: ``JSON.stringify(JSON.parse(line))`` (tests/receivers/stringify.js).

A missing runtime skips the calling test and says which Debian package brings
it (``.ci/run`` installs them).
"""

from __future__ import annotations

import shutil
import subprocess

import pytest

from tests.receivers.node import HERE, node_binary

PACKAGES = {"php": "php-cli", "ruby": "ruby"}

_PHP_LOOP = (
    "while (($l = fgets(STDIN)) !== false) { echo json_encode(json_decode($l, true)), PHP_EOL; }"
)
_PROGRAMS = {
    "php": ["-r", _PHP_LOOP],
    "ruby": ["-rjson", "-e", "STDIN.each_line { |l| puts JSON.generate(JSON.parse(l)) }"],
}


def binary(program: str) -> str:
    """The path of ``php`` or ``ruby``, or skip the test saying what to install."""
    path = shutil.which(program)
    if path is None:
        pytest.skip(
            f"{program} is not installed (Debian's {PACKAGES[program]}; .ci/run installs it)"
        )
    return path


def reserialize(language: str, texts: list[str]) -> list[str]:
    """Each JSON text (one line, no raw line breaks) parsed and written back by ``language``."""
    if language == "javascript":
        argv = [node_binary(), str(HERE / "stringify.js")]
    else:
        argv = [binary(language), *_PROGRAMS[language]]
    out = subprocess.run(
        argv, input="\n".join(texts).encode() + b"\n", capture_output=True, timeout=120
    )
    assert out.returncode == 0, out.stderr.decode(errors="replace")
    return out.stdout.decode().split("\n")[:-1]  # not splitlines(): U+2028 may be in a text

"""The PHP snippets of docs/receiving.md, run by Debian's php-cli against hookpost's bodies.

Each ```php block of the guide is taken from the file as written (so an edit that
breaks one fails here), given a body and headers signed by the profile's own code,
and must answer true for them and false for a body changed by one byte. Payloads hold
what PHP is most likely to trip on: slashes, non-ASCII text, floats, empty objects
and arrays. Skips, saying so, where php is not installed (.ci/run installs it).
"""

from __future__ import annotations

import base64
import json
import re
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from hookpost.core.signing import generate_secret
from hookpost.profiles import EventData, get_profile

GUIDE = Path(__file__).resolve().parents[2] / "docs" / "receiving.md"
PAYLOADS = [
    {"url": "https://example.com/a/b?c=d", "path": "a/b\\c"},
    {"name": "Зоя Ёлкина", "city": "Zürich", "emoji": "😀", "note": "Төлөгдсөн"},
    {"amount": 10.5, "rate": 0.1, "tiny": 1e-7, "big": 1e21, "neg": -3.25},
    {"empty_object": {}, "empty_array": [], "nested": {"a": [[], {}, [None]]}},
]


def _snippets() -> dict[str, str]:
    blocks = re.findall(r"```php\n(.*?)```", GUIDE.read_text(), re.S)
    named = {re.search(r"function (\w+)\(", b).group(1): b for b in blocks}  # type: ignore[union-attr]
    assert set(named) == {"verify_standard", "verify_timestamped", "verify_body"}, named
    return named


# (profile, the guide's function, how to call it with $raw, $h (lower-case headers), $secret)
CASES = [
    ("standard", "verify_standard", "verify_standard($raw, $h, $secret)"),
    (
        "stripe",
        "verify_timestamped",
        "verify_timestamped($raw, $h['stripe-signature'], $secret, false)",
    ),
    (
        "galaxyjoy",
        "verify_timestamped",
        "verify_timestamped($raw, $h['gj-signature'], $secret, true)",
    ),
    ("byl", "verify_body", "verify_body($raw, $h['byl-signature'], $secret, false)"),
    ("justwallet", "verify_body", "verify_body($raw, $h['signature'], $secret, false)"),
    ("gluwa", "verify_body", "verify_body($raw, $h['x-request-signature'], $secret, true)"),
    ("gluwa-v1", "verify_body", "verify_body($raw, $h['x-request-signature'], $secret, true)"),
]


@pytest.mark.parametrize(("profile", "function", "call"), CASES, ids=[c[0] for c in CASES])
def test_the_guides_php_verifies_hookpost_bodies(
    tmp_path: Path, profile: str, function: str, call: str
) -> None:
    php = shutil.which("php")
    if php is None:
        pytest.skip("php is not installed (Debian's php-cli)")
    snippet = _snippets()[function]
    secret = generate_secret() if profile == "standard" else "s3cret/with+chars=="
    prof = get_profile(profile)
    script = tmp_path / "check.php"
    script.write_text(
        "<?php\n" + snippet + "\n"
        "$cases = json_decode(file_get_contents($argv[1]), true);\n"
        "foreach ($cases as $c) {\n"
        "    $raw = base64_decode($c['raw']); $h = $c['headers']; $secret = $c['secret'];\n"
        f'    echo ({call}) ? "1" : "0";\n'
        "}\n"
    )
    cases, want = [], ""
    for i, payload in enumerate(PAYLOADS):
        now = time.time()
        body = prof.body(EventData(f"evt_php_{i}", "invoice.paid", now, payload, "prj_php"))
        headers = prof.sign(msg_id=f"evt_php_{i}", timestamp=now, body=body, secrets=[secret])
        lower = {k.lower(): v for k, v in headers.items()}
        changed = body.replace(b"}", b" }", 1)
        for raw, ok in ((body, "1"), (changed, "0")):
            cases.append(
                {"raw": base64.b64encode(raw).decode(), "headers": lower, "secret": secret}
            )
            want += ok
    data = tmp_path / "cases.json"
    data.write_text(json.dumps(cases))
    out = subprocess.run([php, str(script), str(data)], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr + out.stdout
    assert out.stdout == want, (profile, out.stdout, out.stderr)

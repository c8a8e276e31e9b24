"""Passwords are hashed with argon2id at the product's parameters.

tests/conftest.py makes hashing cheap in the test process, so the product's own hasher is
checked in a Python process of its own, as the CLI and the web server run it.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

_HASH_AND_VERIFY = """
from core.security import hash_password, verify_password
stored = hash_password("correct horse")
assert verify_password(stored, "correct horse")
assert not verify_password(stored, "wrong horse")
print(stored)
"""


def test_passwords_are_stored_as_argon2id_at_the_rfc_9106_low_memory_parameters():
    done = subprocess.run(
        [sys.executable, "-c", _HASH_AND_VERIFY], capture_output=True, text=True, cwd=ROOT, check=False
    )
    assert done.returncode == 0, done.stderr
    stored = done.stdout.strip()
    # 64 MiB, three passes, four lanes: what argon2-cffi recommends and the product uses.
    assert stored.startswith("$argon2id$v=19$m=65536,t=3,p=4$")
    assert "correct horse" not in stored

"""The chaos tier: kdbgtest attacked, as an attacker or a busy machine would. Every test here runs in the
normal `./dev tests` (marker `chaos`, applied by tests/conftest.py), bounded and seeded."""

"""Bottom layer shared by every other package: errors, the process wrapper, deadline waits, tool lookup.

Nothing here imports from the rest of kdbgtest.
"""

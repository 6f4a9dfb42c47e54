"""`kdbgtest upgrade`: the suite before and after an in-place upgrade of one cluster, with witnesses watched
through every step (see run.py for the order, report.py for what is written)."""

"""kdbgtest: prove that kubectl debug workflows work."""

"""Image root filesystems built without docker: pinned Debian packages (apt download + extraction), Go modules
and PyPI wheels at pinned versions, exported as docker-save archives (`kdbgtest images build NAME`)."""

"""Bottom layer shared by every other package: errors, the process wrapper, deadline waits, tool lookup, the
shape of Kubernetes objects (`k8s`).

Nothing here imports from the rest of kdbgtest.
"""

"""The offline cluster's API server: the HTTPS endpoint real kubectl and the kubernetes Python client talk to.

`app.build_app` assembles an aiohttp application (routes, bearer-token authentication, `Status` errors) over one
in-memory `store.Store` (resourceVersions, a bounded history, watches). Pods go through `pods.py` as the
registry does (defaults, validation with the real messages, scheduling, the `status` and `ephemeralcontainers`
subresources, graceful deletion); responses are JSON or `meta.k8s.io/v1` Tables as the server-side printers make
them. Logs, exec and attach are forwarded to the node agent through `kdbgtest.sim.contracts.NodeRuntime`; this
package imports nothing of `kdbgtest.sim.node` (an import-linter contract; ARCHITECTURE.md maps the modules).
"""

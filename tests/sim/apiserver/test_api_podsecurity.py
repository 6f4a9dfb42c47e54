"""Pod Security admission against the API server, with the real kubectl: enforce refuses with upstream's
message, warn lets through with `Warning:` lines, on pod create and on the ephemeralcontainers subresource."""

from __future__ import annotations

import textwrap

import pytest
from api_harness import ApiServer

pytestmark = pytest.mark.unit

NON_ROOT = textwrap.dedent("""\
    apiVersion: v1
    kind: Pod
    metadata: {name: app}
    spec:
      securityContext: {runAsNonRoot: true, runAsUser: 1000, seccompProfile: {type: RuntimeDefault}}
      containers:
      - name: app
        image: busybox
        command: [sleep, "3600"]
        securityContext: {allowPrivilegeEscalation: false, capabilities: {drop: [ALL]}}
    """)


def _namespace(api: ApiServer, name: str, **labels: str) -> None:
    api.kubectl("create", "namespace", name)
    pairs = [f"pod-security.kubernetes.io/{k}={v}" for k, v in labels.items()]
    api.kubectl("label", "namespace", name, *pairs)


@pytest.fixture(scope="module")
def baseline(api: ApiServer) -> str:
    _namespace(api, "psa-baseline", enforce="baseline")
    api.kubectl("create", "-n", "psa-baseline", "-f", "-", stdin=NON_ROOT)
    return "psa-baseline"


@pytest.fixture(scope="module")
def restricted(api: ApiServer) -> str:
    _namespace(api, "psa-restricted", enforce="restricted", **{"enforce-version": "v1.30"})
    api.kubectl("create", "-n", "psa-restricted", "-f", "-", stdin=NON_ROOT)
    return "psa-restricted"


def test_baseline_refuses_the_node_debugger(api: ApiServer, baseline: str) -> None:
    done = api.kubectl("debug", "node/t-control-plane", "-n", baseline, "--image=busybox", check=False)
    assert done.returncode == 1
    assert (
        'is forbidden: violates PodSecurity "baseline:latest": host namespaces (hostNetwork=true, hostPID=true, '
        'hostIPC=true), hostPath volumes (volume "host-root")'
    ) in done.stderr
    assert not [p for p in api.kubectl("get", "pods", "-n", baseline, "-o", "name").stdout.split() if "node" in p]


def test_baseline_refuses_the_general_profile_on_an_ephemeral_container(api: ApiServer, baseline: str) -> None:
    done = api.kubectl("debug", "app", "-n", baseline, "--image=busybox", "--profile=general", "-c", "gen", check=False)
    assert done.returncode == 1
    assert (
        'pods "app" is forbidden: violates PodSecurity "baseline:latest": non-default capabilities (container "gen" '
        'must not include "SYS_PTRACE" in securityContext.capabilities.add)'
    ) in done.stderr


@pytest.mark.parametrize("profile", ["baseline", "restricted"])
def test_baseline_admits_the_baseline_and_restricted_profiles(api: ApiServer, baseline: str, profile: str) -> None:
    done = api.kubectl("debug", "app", "-n", baseline, "--image=busybox", f"--profile={profile}", "-c", profile)
    assert done.returncode == 0


def test_restricted_admits_only_the_restricted_profile(api: ApiServer, restricted: str) -> None:
    refused = api.kubectl(
        "debug", "app", "-n", restricted, "--image=busybox", "--profile=baseline", "-c", "b", check=False
    )
    assert (
        'pods "app" is forbidden: violates PodSecurity "restricted:v1.30": allowPrivilegeEscalation != false '
        '(container "b" must set securityContext.allowPrivilegeEscalation=false), unrestricted capabilities '
        '(container "b" must set securityContext.capabilities.drop=["ALL"])'
    ) in refused.stderr
    assert api.kubectl("debug", "app", "-n", restricted, "--image=busybox", "--profile=restricted", "-c", "r")


def test_warn_mode_admits_and_kubectl_prints_the_warning(api: ApiServer) -> None:
    _namespace(api, "psa-warn", warn="restricted")
    done = api.kubectl("run", "root", "-n", "psa-warn", "--image=busybox", "--", "sleep", "3600")
    assert done.returncode == 0
    assert (
        'Warning: would violate PodSecurity "restricted:latest": allowPrivilegeEscalation != false (container '
        '"root" must set securityContext.allowPrivilegeEscalation=false), unrestricted capabilities (container '
        '"root" must set securityContext.capabilities.drop=["ALL"]), runAsNonRoot != true (pod or container "root" '
        'must set securityContext.runAsNonRoot=true), seccompProfile (pod or container "root" must set '
        'securityContext.seccompProfile.type to "RuntimeDefault" or "Localhost")'
    ) in done.stderr


def test_a_pod_in_an_unlabelled_namespace_is_privileged(api: ApiServer) -> None:
    api.kubectl("create", "namespace", "psa-none")
    done = api.kubectl("debug", "node/t-control-plane", "-n", "psa-none", "--image=busybox")
    assert "Warning" not in done.stderr

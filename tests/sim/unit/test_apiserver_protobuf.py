"""The protobuf decoder on hand-built bytes: wire format, envelope, JSON rules, and loud failures."""

from __future__ import annotations

import struct

import pytest

from kdbgtest.sim.apiserver import protobuf

# --- a tiny generic protobuf encoder (independent of the decoder's table: fields are given by number)


def varint(n: int) -> bytes:
    n &= (1 << 64) - 1
    out = bytearray()
    while True:
        byte, n = n & 0x7F, n >> 7
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def vint(number: int, value: int) -> bytes:
    return varint(number << 3) + varint(value)


def blob(number: int, value: bytes | str) -> bytes:
    data = value.encode() if isinstance(value, str) else value
    return varint(number << 3 | 2) + varint(len(data)) + data


def entry(number: int, key: str, value: bytes | str) -> bytes:
    return blob(number, blob(1, key) + blob(2, value))


def envelope(kind: str, raw: bytes, api_version: str = "v1") -> bytes:
    type_meta = blob(1, api_version) + blob(2, kind)
    return b"k8s\x00" + blob(1, type_meta) + blob(2, raw) + blob(3, "") + blob(4, "")


def pod(spec: bytes, meta: bytes = blob(1, "p")) -> bytes:
    return envelope("Pod", blob(1, meta) + blob(2, spec) + blob(3, b""))


def container(*fields: bytes) -> bytes:
    return blob(2, blob(1, "app") + blob(2, "busybox") + blob(8, b"") + b"".join(fields))


# --- tests


def test_minimal_pod_has_the_json_shape_of_the_go_types() -> None:
    obj = protobuf.decode_object(pod(container()))
    assert obj == {
        "kind": "Pod",
        "apiVersion": "v1",
        "metadata": {"name": "p"},
        "spec": {"containers": [{"name": "app", "image": "busybox", "resources": {}}]},
        "status": {},
    }


def test_omitempty_zero_values_are_dropped_and_pointer_zero_values_kept() -> None:
    spec = container(vint(16, 0), blob(13, "")) + vint(11, 0) + vint(27, 0) + vint(4, 0) + blob(3, "")
    obj = protobuf.decode_object(pod(spec))
    assert obj["spec"] == {
        "containers": [{"name": "app", "image": "busybox", "resources": {}}],
        "shareProcessNamespace": False,
        "terminationGracePeriodSeconds": 0,
    }


def test_required_values_are_filled_when_absent() -> None:
    port = blob(6, blob(1, "http"))  # ContainerPort without containerPort (json:"containerPort")
    obj = protobuf.decode_object(pod(container(port)))
    assert obj["spec"]["containers"][0]["ports"] == [{"name": "http", "containerPort": 0}]


def test_maps_lists_quantities_and_int_or_string() -> None:
    resources = blob(8, entry(1, "memory", blob(1, "64Mi")) + entry(2, "cpu", blob(1, "500m")))
    probe = blob(10, blob(1, blob(2, blob(1, "/healthz") + blob(2, vint(1, 1) + blob(3, "http")))))
    tcp = blob(11, blob(1, blob(3, blob(1, vint(2, 8080)))))
    args = blob(4, "a") + blob(4, "b")
    meta = blob(1, "p") + entry(11, "app", "x") + entry(12, "note", "")
    obj = protobuf.decode_object(pod(blob(2, blob(1, "app") + resources + probe + tcp + args), meta))
    c = obj["spec"]["containers"][0]
    assert c["resources"] == {"limits": {"memory": "64Mi"}, "requests": {"cpu": "500m"}}
    assert c["livenessProbe"] == {"httpGet": {"path": "/healthz", "port": "http"}}
    assert c["readinessProbe"] == {"tcpSocket": {"port": 8080}}
    assert c["args"] == ["a", "b"]
    assert obj["metadata"] == {"name": "p", "labels": {"app": "x"}, "annotations": {"note": ""}}


def test_inline_messages_merge_into_the_parent() -> None:
    common = blob(1, "dbg") + blob(2, "busybox") + blob(8, b"") + vint(16, 1) + vint(18, 1)
    spec = container() + blob(34, blob(1, common) + blob(2, "app"))
    spec += blob(1, blob(1, "host") + blob(2, blob(1, blob(1, "/") + blob(2, "Directory"))))
    obj = protobuf.decode_object(pod(spec))
    assert obj["spec"]["ephemeralContainers"] == [
        {
            "name": "dbg",
            "image": "busybox",
            "resources": {},
            "stdin": True,
            "tty": True,
            "targetContainerName": "app",
        }
    ]
    assert obj["spec"]["volumes"] == [{"name": "host", "hostPath": {"path": "/", "type": "Directory"}}]


def test_negative_numbers_packed_repeated_and_times() -> None:
    security = blob(14, vint(2, -1) + blob(4, varint(1000) + varint(2000)) + vint(4, 3000))
    created = blob(8, vint(1, 1700000000) + vint(2, 5))
    obj = protobuf.decode_object(pod(container() + security, blob(1, "p") + created))
    assert obj["spec"]["securityContext"] == {"runAsUser": -1, "supplementalGroups": [1000, 2000, 3000]}
    assert obj["metadata"]["creationTimestamp"] == "2023-11-14T22:13:20Z"


def test_zero_creation_timestamp_is_omitted_and_managed_fields_decode() -> None:
    fields_v1 = blob(7, blob(1, b'{"f:metadata":{}}'))
    managed = blob(17, blob(1, "kubectl") + blob(2, "Update") + blob(4, vint(1, 0)) + blob(6, "FieldsV1") + fields_v1)
    obj = protobuf.decode_object(pod(container(), blob(1, "p") + blob(8, b"") + managed))
    assert obj["metadata"] == {
        "name": "p",
        "managedFields": [
            {
                "manager": "kubectl",
                "operation": "Update",
                "time": "1970-01-01T00:00:00Z",
                "fieldsType": "FieldsV1",
                "fieldsV1": {"f:metadata": {}},
            }
        ],
    }


def test_delete_options_in_either_api_version() -> None:
    for api_version in ("v1", "meta.k8s.io/v1"):
        body = envelope("DeleteOptions", vint(1, 0) + blob(4, "Background"), api_version)
        assert protobuf.decode_object(body) == {
            "kind": "DeleteOptions",
            "apiVersion": api_version,
            "gracePeriodSeconds": 0,
            "propagationPolicy": "Background",
        }


def test_namespace() -> None:
    body = envelope("Namespace", blob(1, blob(1, "team-a")) + blob(2, blob(1, "kubernetes")) + blob(3, b""))
    assert protobuf.decode_object(body) == {
        "kind": "Namespace",
        "apiVersion": "v1",
        "metadata": {"name": "team-a"},
        "spec": {"finalizers": ["kubernetes"]},
        "status": {},
    }


def test_unknown_field_number_is_an_error_naming_message_and_number() -> None:
    with pytest.raises(protobuf.DecodeError) as err:
        protobuf.decode_object(pod(container(blob(99, "surprise"))))
    assert str(err.value) == "at spec.containers[0]: unknown field number 99 (wire type 2) in message Container"


def test_unknown_volume_source_is_an_error() -> None:
    spec = container() + blob(1, blob(1, "disk") + blob(2, blob(3, blob(1, "pd-name"))))
    with pytest.raises(protobuf.DecodeError, match=r"unknown field number 3 .* in message VolumeSource"):
        protobuf.decode_object(pod(spec))


def test_wrong_wire_type_is_an_error() -> None:
    with pytest.raises(protobuf.DecodeError, match="wire type 0 where message Container expects str"):
        protobuf.decode_object(pod(blob(2, vint(1, 7))))


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b'{"kind":"Pod"}', "expected magic bytes"),
        (envelope("Service", b""), "cannot decode protobuf object of kind 'Service'"),
        (b"k8s\x00" + blob(2, b"") + blob(3, "gzip"), "unsupported runtime.Unknown"),
        (b"k8s\x00" + varint(2 << 3 | 2) + varint(50) + b"short", "truncated or corrupt"),
        (b"k8s\x00" + b"\xff\xff", "truncated varint"),
        (
            b"k8s\x00" + varint(1 << 3 | 1) + struct.pack("<q", 1),
            r"unknown field number 1 \(wire type 1\) in message runtime.Unknown",
        ),
    ],
)
def test_malformed_bodies_are_errors(body: bytes, message: str) -> None:
    with pytest.raises(protobuf.DecodeError, match=message):
        protobuf.decode_object(body)


def test_decode_error_is_a_value_error() -> None:
    assert issubclass(protobuf.DecodeError, ValueError)

"""metav1.Status bodies as the Kubernetes API server writes them, and the exception that carries one."""

from __future__ import annotations

from kdbgtest.base.k8s import Obj

NOT_FOUND_RESOURCE = "the server could not find the requested resource"


class ApiError(Exception):
    """A request failed; `status` is the metav1.Status to send and `code` its HTTP code."""

    def __init__(self, status: Obj) -> None:
        self.status = status
        self.code = int(status.get("code", 500))
        super().__init__(status.get("message", ""))


def failure(code: int, reason: str, message: str, details: Obj | None = None) -> Obj:
    """A Failure Status; `details` is omitted when None (as the server omits empty details)."""
    status: Obj = {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": reason,
    }
    if details is not None:
        status["details"] = details
    status["code"] = code
    return status


def success() -> Obj:
    return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success"}


def _details(resource: str, name: str, group: str = "") -> Obj:
    details: Obj = {"name": name}
    if group:
        details["group"] = group
    details["kind"] = resource
    return details


def not_found(resource: str, name: str, group: str = "") -> ApiError:
    """`pods "x" not found` (404)."""
    qualified = f"{resource}.{group}" if group else resource
    return ApiError(failure(404, "NotFound", f'{qualified} "{name}" not found', _details(resource, name, group)))


def resource_not_found() -> ApiError:
    """The 404 for an unknown path or resource: no name in the details (kubectl relies on that)."""
    return ApiError(failure(404, "NotFound", NOT_FOUND_RESOURCE, {}))


def already_exists(resource: str, name: str) -> ApiError:
    return ApiError(failure(409, "AlreadyExists", f'{resource} "{name}" already exists', _details(resource, name)))


def conflict(resource: str, name: str, why: str) -> ApiError:
    message = f'Operation cannot be fulfilled on {resource} "{name}": {why}'
    return ApiError(failure(409, "Conflict", message, _details(resource, name)))


def stale_update(resource: str, name: str) -> ApiError:
    why = "the object has been modified; please apply your changes to the latest version and try again"
    return conflict(resource, name, why)


def bad_request(message: str) -> ApiError:
    return ApiError(failure(400, "BadRequest", message))


def forbidden(resource: str, name: str, why: str) -> ApiError:
    message = f'{resource} "{name}" is forbidden: {why}'
    return ApiError(failure(403, "Forbidden", message, _details(resource, name)))


def method_not_allowed() -> ApiError:
    return ApiError(
        failure(405, "MethodNotAllowed", "the server does not allow this method on the requested resource", {})
    )


def unsupported_media_type(content_type: str) -> ApiError:
    return ApiError(
        failure(
            415,
            "UnsupportedMediaType",
            f"the body of the request was in an unknown format - "
            f"accepted media types include: application/json, application/yaml, "
            f'application/vnd.kubernetes.protobuf (got "{content_type}")',
        )
    )


def unauthorized() -> Obj:
    return failure(401, "Unauthorized", "Unauthorized")


def gone(requested: int, oldest: int) -> Obj:
    """The watch Status for a compacted resourceVersion (sent as an ERROR event or a 410 body)."""
    return failure(410, "Expired", f"too old resource version: {requested} ({oldest})")


def internal(message: str) -> ApiError:
    return ApiError(
        failure(500, "InternalError", f"Internal error occurred: {message}", {"causes": [{"message": message}]})
    )

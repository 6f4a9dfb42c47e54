"""The error every PATCH helper raises: an HTTP status code and the API server's message."""

from __future__ import annotations

_REASONS = {400: "BadRequest", 415: "UnsupportedMediaType", 422: "Invalid", 409: "Conflict"}


class PatchError(ValueError):
    """A patch that cannot be applied; `code` is the HTTP status the API server answers with."""

    def __init__(self, message: str, code: int) -> None:
        super().__init__(message)
        self.message = message
        self.code = code

    @property
    def reason(self) -> str:
        """The metav1.Status reason for `code` (BadRequest, Invalid, UnsupportedMediaType, ...)."""
        return _REASONS.get(self.code, "InternalError")

"""The kubelet's image manager: pull policy, Pulling/Pulled/Failed/BackOff events, ErrImagePull back-off."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from kdbgtest.sim.node import backoff, images

RETRY = 10.0  # nominal seconds between syncs that retry an image that must not be pulled
# Nominal seconds a failed pull shows ErrImagePull before the next sync reports ImagePullBackOff: the kubelet's
# PLEG relists every second and the sandbox's events trigger that sync. (Retrying at once made ErrImagePull last
# a few milliseconds, too short for anyone watching the pod to see it.)
PLEG_RELIST = 1.0


class PullFailed(Exception):
    """The image cannot be had now: `reason` (ErrImagePull, ImagePullBackOff, ...) and the waiting message."""

    def __init__(self, reason: str, message: str, wait: float) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message
        self.wait = wait  # real seconds before the next attempt


Event = Callable[[str, str, str], None]  # (type, reason, message)


@dataclass
class Puller:
    """One node's images: which are present, and the pull back-off per pod and image."""

    store: images.ImageStore
    backoff: backoff.Backoff
    scale: float
    minor: Callable[[], int] = lambda: 34  # the Kubernetes minor version the kubelet runs now (its messages)
    present: dict[str, images.Image] = field(default_factory=dict)
    sizes: dict[str, int] = field(default_factory=dict)
    last_error: dict[str, str] = field(default_factory=dict)  # back-off key -> "ErrImagePull: <message>"
    imported: Callable[[str], bool] = lambda _image: False  # on the node before any pull (status.images)

    async def ensure(self, image: str, policy: str, key: str, event: Event) -> images.Image:
        """The image for a container, pulling it if the policy says so; PullFailed if it cannot be had."""
        try:
            images.parse_reference(image)
        except images.InvalidImageName as exc:  # the kubelet rejects it before asking the runtime
            event("Warning", "InspectFailed", str(exc))
            event("Warning", "Failed", "Error: InvalidImageName")
            raise PullFailed("InvalidImageName", str(exc), RETRY * self.scale) from exc
        have = self.present.get(image)
        if have is None and policy != "Always" and self.imported(image):
            have = await self._load_imported(image)
        if policy == "Never" and have is None:
            message = f'Container image "{image}" is not present with pull policy of Never'
            event("Warning", "ErrImageNeverPull", message)
            event("Warning", "Failed", "Error: ErrImageNeverPull")
            raise PullFailed("ErrImageNeverPull", message, RETRY * self.scale)
        if have is not None and policy != "Always":
            event("Normal", "Pulled", f'Container image "{image}" already present on machine')
            return have
        backoff_key = f"{key}_{image}"
        if self.backoff.in_backoff_since_update(backoff_key):
            message = f'Back-off pulling image "{image}"'
            event("Normal", "BackOff", message)
            event("Warning", "Failed", "Error: ImagePullBackOff")
            if self.minor() >= 32 and backoff_key in self.last_error:  # kubernetes#127918: say why
                message = f"{message}: {self.last_error[backoff_key]}"
            raise PullFailed("ImagePullBackOff", message, self.backoff.remaining_since_update(backoff_key))
        return await self._pull(image, backoff_key, event)

    async def _load_imported(self, image: str) -> images.Image | None:
        """An imported image from the store (unpacked on first use), None if that failed (a pull says why)."""
        try:
            self.present[image] = await asyncio.to_thread(self.store.resolve, image)
        except images.ImageUnavailable:
            return None
        return self.present[image]

    async def _pull(self, image: str, backoff_key: str, event: Event) -> images.Image:
        event("Normal", "Pulling", f'Pulling image "{image}"')
        start = time.monotonic()
        try:
            resolved = await asyncio.to_thread(self.store.resolve, image)
        except images.ImageUnavailable as exc:
            error = f"rpc error: code = Unknown desc = {exc}"  # as the CRI returns containerd's failure
            event("Warning", "Failed", f'Failed to pull image "{image}": {error}')
            event("Warning", "Failed", "Error: ErrImagePull")
            self.backoff.next(backoff_key, self.backoff.now())
            self.last_error[backoff_key] = f"ErrImagePull: {error}"
            raise PullFailed("ErrImagePull", error, PLEG_RELIST * self.scale) from exc
        took = go_millis(time.monotonic() - start)
        size = await asyncio.to_thread(self._size, resolved)
        event(
            "Normal",
            "Pulled",
            f'Successfully pulled image "{image}" in {took} ({took} including waiting). Image size: {size} bytes.',
        )
        self.present[image] = resolved
        return resolved

    def _size(self, image: images.Image) -> int:
        if image.image_id not in self.sizes:
            self.sizes[image.image_id] = tree_size(image.rootfs)
        return self.sizes[image.image_id]


def default_policy(image: str) -> str:
    """The API server's default: Always for `:latest` or untagged images, else IfNotPresent."""
    last = image.rsplit("/", 1)[-1]
    if "@" in last:
        return "IfNotPresent"
    tag = last.partition(":")[2]
    return "Always" if tag in ("", "latest") else "IfNotPresent"


def tree_size(root: Path) -> int:
    """Bytes of the regular files below `root` (symlinks not followed)."""
    total = 0
    for dirpath, _, files in os.walk(root):
        for name in files:
            try:
                st = (Path(dirpath) / name).lstat()
            except OSError:
                continue
            total += st.st_size
    return total


def go_millis(seconds: float) -> str:
    """A duration truncated to milliseconds, as Go prints it: 12ms, 1.234s, 1m2.5s."""
    ms = int(seconds * 1000)
    if ms < 1000:
        return f"{ms}ms"
    minutes, rest = divmod(ms, 60_000)
    secs = f"{rest / 1000:.3f}".rstrip("0").rstrip(".") + "s"
    return f"{minutes}m{secs}" if minutes else secs

"""The node tests' fixture (`run_node`); the harness itself is in node_harness.py."""

from node_harness import run_node

__all__ = ["run_node"]

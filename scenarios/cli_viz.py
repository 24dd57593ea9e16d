"""Placeholder until this command group lands."""

import typer


def register(app: typer.Typer) -> None:
    """Add this module's commands to the `aibubble` app."""

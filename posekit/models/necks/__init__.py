"""Necks (none yet; a top-down model may do without)."""
__all__: list = []

"""Network architectures only (no losses, no training logic)."""

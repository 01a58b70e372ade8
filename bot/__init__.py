"""Paperpost's platform-neutral core: papers, search, channels, digests, delivery."""

"""Pluggable policies: what a meeting accepts, in which order meetings go, which slots are allowed,
and which acceptable slot is preferred. See `base` for the contracts and `registry` for names."""

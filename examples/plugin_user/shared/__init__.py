"""A user project's own `shared` package: slotwise must not collide with it."""

ANSWER = 42

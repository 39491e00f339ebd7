"""Removing and reordering the active entry of a panel list (tracks, prompts, targets):
one way for every list, so the active index is kept in range the same way everywhere."""


def remove_active(owner, collection: str, index: str) -> bool:
    """Remove ``owner.<collection>[owner.<index>]`` (clamped into range) and keep the
    index on the entry that took its place; False when the list is empty."""
    items = getattr(owner, collection)
    if not len(items):
        return False
    i = min(getattr(owner, index), len(items) - 1)
    items.remove(i)
    setattr(owner, index, max(0, min(i, len(items) - 1)))
    return True


def move_active(owner, collection: str, index: str, direction: str) -> bool:
    """Move the active entry one place 'UP' or 'DOWN', the index following it; False at an end."""
    items = getattr(owner, collection)
    i = getattr(owner, index)
    j = i - 1 if direction == 'UP' else i + 1
    if not 0 <= j < len(items):
        return False
    items.move(i, j)
    setattr(owner, index, j)
    return True

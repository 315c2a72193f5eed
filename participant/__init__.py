"""A participant agent: answers for one person, yes or no per slot, and keeps the rest private."""

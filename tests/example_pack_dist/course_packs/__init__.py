"""A course's rnngrade packs: each folder here holding a rubric.toml is a pack."""

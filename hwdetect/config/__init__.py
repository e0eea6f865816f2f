"""params.yaml: loading and checking it (params.py, checks.py) and the names it may choose from (registry.py)."""

"""The stack spec: pydantic models, YAML loading with positions, JSON Schema export."""

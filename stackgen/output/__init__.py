"""The only code that formats or writes: artifacts, the serializer and YAML emitter, quoting for the
formats without an emitter, Jinja2 templating, and the atomic writer of generated/."""

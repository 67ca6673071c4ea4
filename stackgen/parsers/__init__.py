"""Readers of the other languages stackgen emits or accepts: PromQL, Logstash pipelines, Go templates,
RE2 regular expressions, credential formats. No stackgen imports: the spec validates with them."""

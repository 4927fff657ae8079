"""The bare baseline of the ingest benchmark: Django + django-ninja with nothing else.

Not part of textpilot: bench/ingest_wrk_bench.py serves it with gunicorn next to textpilot
so both are measured in the same run on the same database server."""

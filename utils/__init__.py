"""The helpers every entry point shares, one job a module: config (reading, inheriting, checking
and overriding the YAML configs) with config_schema (every entry a config may hold), errors (the
one-line user errors), logs, files (atomic writes), runtime (process settings, threads, huge
pages), c_build (the optional C helpers), metrics (top-k and confusion matrices) and
model_profile (parameters and multiply-adds)."""

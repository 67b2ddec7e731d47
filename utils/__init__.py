"""The helpers every entry point shares, one job a module:
- config: reading, inheriting, checking and overriding the YAML configs; config_schema: every
  entry a config may hold;
- errors: the one-line user errors; logs: the log's format and files;
- files: atomic writes; safe_pickle: the one way any pickle is read (nothing it names runs);
- runs: each config's run folders, its resumable checkpoint and the run record; score_cache:
  eval scores that -v reuses; seeding: seeds and the random states a checkpoint keeps;
- runtime: process settings (threads, huge pages, the device); ranks: what data-parallel
  processes share; native_output: redirecting C libraries' printing; c_build: the optional C
  helpers;
- metrics: top-k and confusion matrices; model_profile: parameters and multiply-adds;
- training: the training loop (the step and the epoch, at the AMP level)."""

"""A run's path, one module per stage, in the order a run takes them:

- `lifecycle`: what users and schedules ask of runs (request, cancel, pause, resume) and the
  queue hand-off to a worker;
- `claim`: a worker takes a queued run, and runs whose worker is gone are resumed or ended;
- `plan`: what the run works on, from the saved configuration or the CLI's addons;
- `execute`: the engine wired to the database, and the recorded end;
- `active`: the one active run, and the configuration lock that keeps settings still while it runs.
"""

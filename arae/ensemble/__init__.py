"""K detectors trained in one process as stacked members (hydra/launcher=ensemble, docs/launchers.md):
stacked.py (the nets, vmapped), adam.py (one Adam state per member), member.py (what each member builds
and writes), engine.py (the training rounds), sweep.py (the launcher's work on a sweep's jobs)."""

"""K detectors trained in one process as stacked members (hydra/launcher=ensemble, docs/launchers.md), by the
Trainer, step, crafting, callbacks and checkpoint functions of a separate job: module.py (the members as one
LightningModule), stacked.py (the nets, vmapped; whose rows are whose; each member's random numbers),
adam.py (one Adam state per member), data.py (the members' data, stacked), callbacks.py and loggers.py
(each member's callbacks and loggers), checkpoint.py (one checkpoint file per member), member.py (what each
member builds), run.py (one ensemble's training), sweep.py (the launcher's work on a sweep's jobs)."""

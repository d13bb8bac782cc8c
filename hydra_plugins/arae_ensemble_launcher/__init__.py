"""Hydra launcher plugin `hydra/launcher=ensemble` (Hydra finds launchers only below hydra_plugins); the
training it launches is arae/ensemble/."""

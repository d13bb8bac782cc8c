"""Train and evaluate one ARAE novelty detector (or a sweep of them with -m). See README.md.
The same command as `arae-train` of the installed package (arae/train.py)."""

from arae.train import main

if __name__ == "__main__":
    main()

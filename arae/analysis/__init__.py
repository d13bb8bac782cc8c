"""The paper's analyses of trained detectors: robustness under attack (Table 5) and Figures 1, 5, 6, 7.
One small module per figure; `arae-analyze` (arae/analysis/cli.py) runs them from checkpoints."""

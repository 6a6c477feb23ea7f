"""The demo-model lab: how radphi/assets/radphi-demo.gguf is built and studied (the synthetic
corpus, the recipe and its variants in config/, ablations, results tables, experiment
scripts and the experiment log, LOG.md). Not installed; it imports the product (radphi,
training, evaluation), and the product never imports it. See README.md here."""

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]  # the repository root
CONFIG_DIR = Path(__file__).resolve().parent / "config"

"""One-off experiment scripts of the demo-model lab, each run as
`python -m lab.demo.experiments.<name>`; what each found is in lab/demo/LOG.md."""

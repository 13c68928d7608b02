"""goprims benchmarks: ``python -m bench`` prints ratios against anchors measured in one run."""

"""One module per exercise (see :mod:`tinygrad_edu.learn` for what each defines)."""

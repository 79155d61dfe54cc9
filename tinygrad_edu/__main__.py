"""``python -m tinygrad_edu`` runs the blog demo (examples/blog_backprop.py)."""
from .blog import main

main()

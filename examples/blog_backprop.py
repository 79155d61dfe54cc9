"""The blog's two networks trained with autograd, checked bit for bit against its hand-written backprop.

Run: python examples/blog_backprop.py   (same as: python -m tinygrad_edu)
The code it runs is tinygrad_edu/blog.py, written to be read next to the blog post.
"""
from tinygrad_edu.blog import main

if __name__ == "__main__":
    main()

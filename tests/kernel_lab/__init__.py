"""The kernel lab: runs kernel_lab-marked tests in a VM with Debian's kernel (see plugin.py)."""

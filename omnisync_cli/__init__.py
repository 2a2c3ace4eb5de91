"""omnisync: mask-free diffusion-transformer video dubbing (the OmniSync paper) for the command line."""

__version__ = "0.1.0"

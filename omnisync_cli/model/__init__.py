"""The OmniSync network (a mask-free DiT), its conditioning frontends, weights I/O and editor.

Import the submodules themselves (`omnisync_cli.model.dit`, `.editor`, `.weights`, ...): the
package imports nothing, so its torch-free parts (`model.config`, with the weights folder's
config file) load without PyTorch.
"""

"""How the benchmarks and the browser tests start Debian's headless Chromium: one list of flags.

The network here is closed and the page must not need it, so Chromium's own calls
home are switched off; containers have no user namespaces for the sandbox.
"""

QUIET = [  # nothing that talks to the network by itself
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", *QUIET]  # no sandbox, no GPU, quiet

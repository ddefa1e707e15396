"""gankit's built-in plugins (installed as ``gankit_plugins``).

They use only gankit's public API, exactly as third-party plugins do.
"""

"""The sans-I/O core: values, validation, the ``Shortener`` service and the HTTP app.

Nothing here opens a socket or reads an environment; each module is imported by the
requests that need it (see ``minilink.core.app``), so this package file stays empty.
"""

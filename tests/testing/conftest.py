"""The kit's pytest plugin, for the tests in this folder.

Installed, the plugin is loaded by its ``pytest11`` entry point; this suite turns that
off (``-p no:minilink`` in pyproject's addopts) because pytest imports entry-point
plugins before coverage starts measuring, and imports the fixtures and the hook here
instead. ``test_plugin_loads_from_its_entry_point`` checks the entry point for real.
"""

from __future__ import annotations

from minilink.testing.plugin import (  # noqa: F401 - fixtures and a hook, found by name
    minilink_adapter,
    minilink_app,
    minilink_client,
    minilink_clock,
    minilink_config,
    minilink_env,
    minilink_mount,
    minilink_store,
    pytest_generate_tests,
)

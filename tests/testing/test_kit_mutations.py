"""The kit's mutation test: ``StoreContract`` fails for every store that breaks a rule.

Each store of ``_broken_stores`` breaks one rule of ``minilink.storage.base``. The kit
runs against it in a pytest session of its own (``pytester``, in process), and the
tests it names in ``caught_by`` must fail; the state machine, run alone, must fail for
every store marked ``machine``. The reference ``MemoryStore`` passes the whole kit
through the same harness, so a failure here is the broken store's and not the
harness's. A store with a ``twin()`` (a second object on its data) gets the kit's
optional ``other_store`` fixture; ``SharedMemory``, correct, passes the test that
needs one.

The inner runs are deterministic (``derandomize``) and skip shrinking: they only ask
whether the kit notices, not for the smallest counterexample.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from _broken_stores import BROKEN, MACHINE

from minilink.testing.contract import StoreContract

pytest_plugins = ["pytester"]

pytestmark = pytest.mark.slow

HERE = Path(__file__).resolve().parent
MACHINE_TEST = "test_matches_a_dict_model"

KIT = """
import pytest
from hypothesis import Phase, settings

from minilink.storage.memory import MemoryStore
from minilink.testing.contract import StoreContract
from _broken_stores import BROKEN, SharedMemory

STORE = {store}


class TestKit(StoreContract):
    @pytest.fixture
    def store(self):
        s = STORE()
        yield s
        s.close()

    @pytest.fixture
    def unreachable_store(self):
        if not hasattr(STORE, "unreachable"):
            pytest.skip("this store is never unreachable")
        s = STORE.unreachable()
        yield s
        s.close()

    @pytest.fixture
    def other_store(self, store):
        if not hasattr(STORE, "twin"):
            pytest.skip("this store's data lives in one object")
        s = store.twin()
        yield s
        s.close()

    def state_machine_settings(self):
        return settings(
            super().state_machine_settings(),
            database=None,
            derandomize={derandomize},
            phases=[Phase.explicit, Phase.generate],
        )
"""

#: Kit tests no broken store needs of its own: each restates a rule another test
#: (named here) already proves with a broken store, from another angle.
RESTATED = {
    "test_insert_returns_the_link_and_get_finds_it": "test_insert_keeps_every_field",
    "test_codes_are_case_sensitive": "test_codes_differing_only_by_case_are_not_found",
    "test_get_of_an_unknown_code_is_none": "test_codes_differing_only_by_case_are_not_found",
    "test_plain_link_is_not_deduplicated_against_other_kinds": (
        "test_links_with_alias_expiry_or_limit_are_not_deduplicated"
    ),
    "test_urls_and_codes_round_trip_exactly": "test_insert_keeps_every_field",
    "test_export_and_restore_span_many_batches": "test_restore_keeps_every_field",
    "test_any_link_round_trips_through_insert_update_and_export": (
        "test_every_new_field_round_trips"
    ),
}


def run_kit(pytester: pytest.Pytester, store: str, *tests: str) -> dict[str, str]:
    """Run the kit's ``tests`` (all of them when none is named) against ``store`` (an
    expression in the generated module); return each test's outcome by name, a
    parametrized test also under its bare name (failed if any case failed)."""
    pytester.syspathinsert(HERE)
    pytester.makepyfile(test_kit=KIT.format(store=store, derandomize=True))
    selected = [f"test_kit.py::TestKit::{test}" for test in tests] or ["test_kit.py"]
    run = pytester.inline_run("-p", "no:cacheprovider", "-W", "error", "-q", *selected)
    outcomes: dict[str, str] = {}
    for report in run.getreports("pytest_runtest_logreport"):
        name = report.nodeid.split("::")[-1]
        for key in {name, name.split("[")[0]}:
            if report.failed or key not in outcomes:
                outcomes[key] = "failed" if report.failed else report.outcome
    return outcomes


def test_the_reference_store_passes_the_whole_kit(pytester: pytest.Pytester) -> None:
    outcomes = run_kit(pytester, "MemoryStore")
    assert "failed" not in outcomes.values(), outcomes
    assert outcomes[MACHINE_TEST] == "passed"


def test_two_objects_on_shared_data_pass_the_other_store_test(pytester: pytest.Pytester) -> None:
    """``SharedMemory`` has an ``other_store``: the tests that need one run, and pass."""
    tests = (
        "test_changes_are_seen_by_another_store_on_the_same_data",
        "test_lookup_sees_changes_by_another_store_at_once",
    )
    outcomes = run_kit(pytester, "SharedMemory", *tests)
    assert [outcomes[test] for test in tests] == ["passed"] * len(tests), outcomes


@pytest.mark.parametrize("name", sorted(BROKEN))
def test_the_kit_fails_for_a_store_breaking_a_rule(pytester: pytest.Pytester, name: str) -> None:
    caught_by = BROKEN[name].caught_by
    outcomes = run_kit(pytester, f"BROKEN[{name!r}]", *caught_by)
    missed = [test for test in caught_by if outcomes.get(test) != "failed"]
    assert missed == [], f"{name} ({BROKEN[name].__doc__}) passes {missed}: {outcomes}"


@pytest.mark.parametrize("name", sorted(MACHINE))
def test_the_state_machine_alone_fails_for_it(pytester: pytest.Pytester, name: str) -> None:
    outcomes = run_kit(pytester, f"BROKEN[{name!r}]", MACHINE_TEST)
    assert outcomes[MACHINE_TEST] == "failed", f"{name}: {MACHINE[name].__doc__}"


def test_every_kit_test_has_a_broken_store() -> None:
    """A new rule's test comes with a store that breaks it (or says what it restates)."""
    kit = {name for name in dir(StoreContract) if name.startswith("test_")}
    named = {test.split("[")[0] for cls in BROKEN.values() for test in cls.caught_by}
    named |= {MACHINE_TEST} if MACHINE else set()
    assert named <= kit, f"broken stores name tests the kit does not have: {named - kit}"
    assert set(RESTATED.values()) <= named
    assert kit - named - set(RESTATED) == set()

"""The paper's names of our models are defined once, in conf/variant/*.yaml, and read from there."""

from arae.reporting.paper import paper_table
from arae.variants import attack_of, display_name, paper_names


def test_every_variant_file_names_its_attack_and_paper_name():
    assert paper_names() == {"none": "AE", "noise": "DAE", "linf": "ARAE", "union": "ARAE-A", "linf_rec": "ARAE-R"}
    assert attack_of("ARAE-R") == "linf_rec"


def test_runs_and_tables_are_named_through_the_variants():
    assert display_name({"attack": "union"}) == "ARAE-A"
    assert display_name({"attack": "l2"}) == "l2"  # no variant: the attack's own name
    assert paper_table("table6").reproduce == {"DAE": "noise", "ARAE": "linf", "ARAE-A": "union", "ARAE-R": "linf_rec"}

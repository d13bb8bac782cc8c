"""The paper's names of our models are defined once, as `paper_name` in conf/attack/*.yaml; conf/variant/*.yaml
picks the attacks that are the paper's methods."""

from arae.reporting.paper import paper_table
from arae.variants import attack_of, display_name, paper_names


def test_every_variant_file_picks_an_attack_that_carries_its_paper_name():
    assert paper_names() == {"none": "AE", "noise": "DAE", "linf": "ARAE", "union": "ARAE-A", "linf_rec": "ARAE-R"}
    assert attack_of("ARAE-R") == "linf_rec"


def test_runs_and_tables_are_named_through_the_variants():
    assert display_name({"attack": "union"}) == "ARAE-A"
    assert display_name({"attack": "l2"}) == "L2 latent"  # no variant: the attack file's own paper_name
    assert display_name({"attack": "gone"}) == "gone"  # an attack no conf file knows: its name
    assert paper_table("table6").reproduce == {"DAE": "noise", "ARAE": "linf", "ARAE-A": "union", "ARAE-R": "linf_rec"}

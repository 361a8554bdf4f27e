"""The proposer protocols: which proposers the masks stage drives as collection proposers."""

import pytest

from semlat.regions.automatic import AutomaticProposer
from semlat.regions.base import CollectionProposer, is_collection_proposer
from semlat.regions.classical import ClassicalProposer
from semlat.regions.clustered import ClusteredProposer


@pytest.mark.parametrize(
    "proposer, collection",
    [(ClassicalProposer(), False), (ClusteredProposer(), True), (AutomaticProposer(), True)],
    ids=["classical", "clustered", "automatic"],
)
def test_collection_proposers_are_told_apart_by_plan(proposer, collection):
    assert is_collection_proposer(proposer) is collection
    assert isinstance(proposer, CollectionProposer) is collection


def test_a_propose_method_alone_is_a_one_image_proposer():
    class OneImage:
        name = "one"
        plan = None  # an attribute that is not a method does not count

        def propose(self, image):
            return []

    assert not is_collection_proposer(OneImage())

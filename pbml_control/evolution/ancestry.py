"""The ancestry of the living population, for the time back to its most recent common ancestor.

``lineage/tmrca`` says how many generations back the living genomes last shared an ancestor:
under soft selection that keeps lineages competing it stays large; when one genome's
descendants sweep the population it falls to a few generations. Only the ancestors of living
genomes are kept (the tree is pruned every generation), so the record stays small, and it is
part of the checkpoint, so a resumed run reports the same TMRCA as an uninterrupted one.

All founders descend from the one initial parameter vector, which counts as the root, born at
generation -1: while two founder lineages are alive, the TMRCA is ``generation + 1``.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass

import numpy as np

from pbml_control.evolution.genome import Population

ROOT = -1


@dataclass(frozen=True)
class Ancestry:
    """id -> (parent id, birth generation) for every ancestor of the living genomes."""

    parent: dict[int, int]
    birth: dict[int, int]

    @classmethod
    def of(cls, pop: Population) -> Ancestry:
        """The ancestry known from a population alone (its parents count as roots)."""
        return cls({}, {}).advanced(pop)

    def advanced(self, pop: Population) -> Ancestry:
        """A new record with ``pop``'s genomes added and everything not their ancestor pruned."""
        parent, birth = dict(self.parent), dict(self.birth)
        rows = zip(pop.ids.tolist(), pop.parent_ids.tolist(), pop.birth_gen.tolist(), strict=True)
        for i, p, b in rows:
            parent.setdefault(i, p)
            birth.setdefault(i, b)
        keep: set[int] = set()
        for i in pop.ids.tolist():
            while i != ROOT and i not in keep and i in parent:
                keep.add(i)
                i = parent[i]
        return Ancestry({i: parent[i] for i in keep}, {i: birth[i] for i in keep})

    def tmrca(self, ids: np.ndarray, generation: int) -> int:
        """Generations from ``generation`` back to the most recent common ancestor of ``ids``.

        Walks up the tree, always replacing the youngest member of the frontier by its parent,
        until one genome (or the root) is left. A parent the record does not hold (a run started
        from another run's genomes, an old checkpoint) counts as the root; every recorded genome
        is born at generation 0 or later, so the root is never the youngest while others remain.
        """
        frontier = set(int(i) for i in ids)
        heap = [(-self._born(i), i) for i in frontier]
        heapq.heapify(heap)
        while len(frontier) > 1:
            _, youngest = heapq.heappop(heap)
            frontier.discard(youngest)
            up = self.parent.get(youngest, ROOT)
            if up not in self.parent:  # beyond what is recorded: the root
                up = ROOT
            if up not in frontier:
                frontier.add(up)
                heapq.heappush(heap, (-self._born(up), up))
        (mrca,) = frontier
        return int(generation - self._born(mrca))

    def _born(self, i: int) -> int:
        return -1 if i == ROOT else self.birth.get(i, -1)

    def to_arrays(self) -> dict[str, np.ndarray]:
        ids = np.array(sorted(self.parent), dtype=np.int64)
        return {
            "ids": ids,
            "parents": np.array([self.parent[i] for i in ids.tolist()], dtype=np.int64),
            "births": np.array([self.birth[i] for i in ids.tolist()], dtype=np.int64),
        }

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray]) -> Ancestry:
        ids, parents, births = (np.asarray(arrays[k]) for k in ("ids", "parents", "births"))
        shapes = {a.shape for a in (ids, parents, births)}
        if len(shapes) != 1 or ids.ndim != 1:
            raise ValueError("ancestry arrays must be three 1-D arrays of one length")
        return cls(
            dict(zip(ids.tolist(), parents.tolist(), strict=True)),
            dict(zip(ids.tolist(), births.tolist(), strict=True)),
        )

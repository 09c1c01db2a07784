"""Allocation concealment: the stored list, handing out the next slot under a lock, emergency unblinding."""

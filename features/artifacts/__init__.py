"""The artifact store: every path in ``--out``, atomic sets with manifests, the fold plan, learner outputs,
vectors, the records to screen."""

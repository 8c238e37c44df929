"""Blend learners' OOF scores, choose the threshold, write the submission and the report."""

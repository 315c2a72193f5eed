"""What a run decided, for people and scripts: the results file, the outcome table, the audit."""

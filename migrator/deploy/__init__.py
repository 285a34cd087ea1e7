"""Running the migrator on clusters: the artifacts spark-submit needs, and submission to AWS EMR."""

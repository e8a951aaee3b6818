"""The queue side of syndicate: the article pipeline, tasks, the store and the CLI."""

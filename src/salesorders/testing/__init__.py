"""The test kit for users of salesorders: Hypothesis strategies, fakes, contract suites and policy
checks to run against their own adapters and policies."""

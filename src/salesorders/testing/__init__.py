"""The test kit for users of salesorders: Hypothesis strategies, fakes, contract suites and policy
checks to run against their own adapters and policies.

``salesorders.testing.fakes`` holds in-memory stand-ins for the ports a host implements, such as
``FakeCarrier``, a carrier that books shipments with deterministic tracking numbers.
``salesorders.testing.policies`` checks allocation policies and
``salesorders.testing.return_policies`` return policies.
"""

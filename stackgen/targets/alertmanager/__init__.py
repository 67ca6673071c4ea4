"""Alertmanager: the route tree, receivers and inhibitions, and amtool routing tests."""

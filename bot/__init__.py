"""Conversations: channel adapters, intake and the flows for customers, technicians, dispatchers."""

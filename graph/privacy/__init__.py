"""Privacy: consent, forgetting a user, and what counts and definitions may disclose."""

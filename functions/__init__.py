"""AWS Lambda handlers for the system's scheduled and alarm-driven operations (see README)."""
